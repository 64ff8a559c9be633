package backup

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestExpired(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	mk := func(ages ...int) []Manifest { // newest first
		var out []Manifest
		for _, a := range ages {
			out = append(out, Manifest{Key: "k" + strconv.Itoa(a), Created: now.Add(-time.Duration(a) * day)})
		}
		return out
	}
	tests := []struct {
		name      string
		ages      []int
		retention int
		keep      int
		want      []string
	}{
		{"none old", []int{1, 2, 3}, 7, 3, nil},
		{"old beyond keep-last", []int{1, 2, 3, 10, 20}, 7, 3, []string{"k10", "k20"}},
		{"keep-last protects old", []int{10, 20, 30, 40}, 7, 3, []string{"k40"}},
		{"all old keep 1", []int{10, 20}, 7, 1, []string{"k20"}},
		{"young beyond keep-last stay", []int{1, 2, 3, 4, 5}, 7, 2, nil},
		{"exactly at the cutoff stays", []int{1, 7}, 7, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, m := range Expired(mk(tt.ages...), now, time.Duration(tt.retention)*day, tt.keep) {
				got = append(got, m.Key)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Expired = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	const secret = "s3cr3t-value-xyz"
	t.Run("s3 ok with defaults", func(t *testing.T) {
		c, err := LoadConfig(env("DATABASE_URL", "postgres://u:pw@db:5432/app", "BACKUP_DESTINATION", "s3://bkt/pg/nightly/",
			"AWS_ACCESS_KEY_ID", "AK", "AWS_SECRET_ACCESS_KEY", secret, "BACKUP_S3_ENDPOINT", "https://acct.r2.cloudflarestorage.com"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Destination != (Destination{Scheme: "s3", Bucket: "bkt", Prefix: "pg/nightly"}) ||
			c.KeepLast != 3 || c.Retention != 14*24*time.Hour || c.Schedule != DefaultSchedule || c.S3Region != "us-east-1" {
			t.Errorf("config = %+v", c)
		}
		if !slices.Contains(c.Secrets(), "pw") || !slices.Contains(c.Secrets(), secret) {
			t.Errorf("Secrets() = %v: want the database password and the secret key", c.Secrets())
		}
	})
	t.Run("file ok", func(t *testing.T) {
		c, err := LoadConfig(env("BACKUP_DESTINATION", "file:///var/backups/pg/", "BACKUP_SCHEDULE", "@every 1s",
			"BACKUP_KEEP_LAST", "5", "BACKUP_RETENTION_DAYS", "30"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Destination.Path != "/var/backups/pg" || c.KeepLast != 5 || c.Retention != 30*24*time.Hour {
			t.Errorf("config = %+v", c)
		}
	})
	t.Run("all errors at once, no secret", func(t *testing.T) {
		_, err := LoadConfig(env("DATABASE_URL", "mysql://u:"+secret+"@db/app", "BACKUP_DESTINATION", "s3://",
			"AWS_SECRET_ACCESS_KEY", secret, "BACKUP_SCHEDULE", "every tuesday", "BACKUP_RETENTION_DAYS", "0",
			"BACKUP_KEEP_LAST", "x", "BACKUP_S3_PART_SIZE_MB", "1"))
		if err == nil {
			t.Fatal("want an error")
		}
		msg := err.Error()
		for _, name := range []string{"DATABASE_URL", "BACKUP_DESTINATION", "BACKUP_SCHEDULE",
			"BACKUP_RETENTION_DAYS", "BACKUP_KEEP_LAST", "BACKUP_S3_PART_SIZE_MB"} {
			if !strings.Contains(msg, name) {
				t.Errorf("error does not name %s:\n%s", name, msg)
			}
		}
		if strings.Contains(msg, secret) {
			t.Errorf("error shows the secret:\n%s", msg)
		}
	})
	t.Run("no credential in any form is echoed", func(t *testing.T) {
		for _, tc := range []struct{ name, value, secret string }{
			{"DATABASE_URL", "host=db password=pw-SECRET dbname=", "pw-SECRET"},
			{"DATABASE_URL", "host=db password='pw quoted9' port=x", "quoted9"},
			{"DATABASE_URL", "mysql://u@db/app?password=pw-SECRET", "pw-SECRET"},
			{"BACKUP_DESTINATION", "s3://AKIA-KEY:SECRET-KEY@bucket/prefix", "SECRET-KEY"},
			{"BACKUP_DESTINATION", "s3://AKIA-KEY:SECRET-KEY@bucket/prefix", "AKIA-KEY"},
			{"BACKUP_DESTINATION", "s3://bucket/prefix?X-Amz-Signature=sig-SECRET", "sig-SECRET"},
			{"BACKUP_S3_ENDPOINT", "https://r2.example/?token=tok-SECRET", "tok-SECRET"},
		} {
			_, err := LoadConfig(env("BACKUP_DESTINATION", "s3://bkt", tc.name, tc.value))
			if err == nil || !strings.Contains(err.Error(), tc.name) {
				t.Errorf("%s=%q: error %v does not name the variable", tc.name, tc.value, err)
				continue
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Errorf("%s: error shows %q:\n%v", tc.name, tc.secret, err)
			}
		}
	})
	t.Run("s3 needs credentials", func(t *testing.T) {
		_, err := LoadConfig(env("BACKUP_DESTINATION", "s3://bkt", "BACKUP_S3_ENDPOINT", "ftp://x"))
		for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "BACKUP_S3_ENDPOINT"} {
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("error %v does not name %s", err, name)
			}
		}
	})
	t.Run("destinations", func(t *testing.T) {
		for _, bad := range []string{"", "file://relative", "file:///", "gs://b", "s3://u:p@bkt/x", "file:///x?y=1"} {
			if _, err := ParseDestination(bad); err == nil {
				t.Errorf("ParseDestination(%q): want an error", bad)
			}
		}
	})
}

func TestIsBackupObject(t *testing.T) {
	for key, want := range map[string]bool{
		"pg/app/20261125T120000.000Z.dump":             true,
		"pg/app/20261125T120000.000Z.dump.json":        true,
		"app/.20261125T120000.000Z.dump.partial-12345": true,
		"pg/app/notes.dump":                            false,
		"README.txt":                                   false,
		"pg/app/20261125T120000.000Z.json":             false,
	} {
		if got := isBackupObject(key); got != want {
			t.Errorf("isBackupObject(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	got := RedactURL("postgres://app:hunter2@db:5432/app?sslmode=disable")
	if strings.Contains(got, "hunter2") {
		t.Errorf("RedactURL kept the password: %s", got)
	}
}
