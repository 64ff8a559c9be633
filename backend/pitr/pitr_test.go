package pitr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/helloagents/infra/backend/internal/archivetest"
	"github.com/helloagents/infra/backend/internal/dbfixture"
	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/testkit"
)

// TestPITRRecoverToTime writes rows, notes the time T (and a restore point),
// writes, updates and deletes more, and recovers into fresh data directories:
// to T and to the restore point, exactly the rows committed before T; to the
// latest point, everything.
func TestPITRRecoverToTime(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app := e.pg.URL("postgres")
	dbfixture.Seed(t, app, 200)
	if _, err := e.runner.Backup(ctx, Full); err != nil {
		t.Fatalf("full backup: %v", err)
	}
	// Rows after the backup: recovery must replay them from the archive.
	dbfixture.Exec(t, app, `CREATE TABLE events (id serial PRIMARY KEY, v text);
INSERT INTO events (v) SELECT 'before-' || g FROM generate_series(1, 500) g;
UPDATE courses SET title = title || ' (edited)' WHERE id % 10 = 0;`)
	c := archivetest.Connect(t, app)
	var target time.Time
	if err := c.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&target); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "SELECT pg_create_restore_point('before-cleanup')"); err != nil {
		t.Fatal(err)
	}
	before := dbfixture.Fingerprint(t, app)

	dbfixture.Exec(t, app, `INSERT INTO events (v) SELECT 'after-' || g FROM generate_series(1, 300) g;
DELETE FROM lessons WHERE id % 3 = 0;
UPDATE app.settings SET v = 'changed after T';`)
	after := dbfixture.Fingerprint(t, app)
	if maps.Equal(before, after) {
		t.Fatal("the writes after T changed nothing: the test would prove nothing")
	}
	archivetest.SwitchAndWait(t, app, testArchiveTimeout+time.Minute)

	for _, tc := range []struct {
		name   string
		target Target
		want   map[string]string
	}{
		{"time", Target{Type: Time, Time: target}, before},
		{"name", Target{Type: Name, Name: "before-cleanup"}, before},
		{"latest", Target{Type: Latest}, after},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(e.base, "recovered-"+tc.name)
			var steps []string
			res, err := e.runner.Recover(ctx, RecoverOptions{Target: tc.target, DataDir: dir, BinDir: e.bin,
				Timeout: 5 * time.Minute, Progress: func(s string) { steps = append(steps, s) }})
			if err != nil {
				t.Fatalf("recover to %s: %v", tc.target, err)
			}
			t.Logf("recovered to %s: backup %s, restore %s, replay %s, end %s (%s), timeline %d",
				tc.target, res.Backup.Label, res.Restore, res.Replay, res.EndLSN, res.EndWAL, res.Timeline)
			for _, s := range steps {
				e.noSecrets(t, "progress", s)
			}
			got := dbfixture.Fingerprint(t, e.startOn(t, dir, pgtest.FreePort(t), "-c archive_mode=off").URL("postgres"))
			sameData(t, got, tc.want)
		})
	}
}

// TestPITRRecoveryFailures damages the repository (a missing WAL segment, a
// corrupt one, a wrong passphrase) and checks that recovery fails with a
// clear error, leaves the target directory as it was and shows no secret.
func TestPITRRecoveryFailures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app := e.pg.URL("postgres")
	dbfixture.Seed(t, app, 50)
	// The scheduled job on an empty repository takes a full backup at once,
	// then waits for its schedules (here: next year) until stopped.
	never, err := cron.ParseStandard("0 0 1 1 *")
	if err != nil {
		t.Fatal(err)
	}
	var jobLog testkit.SyncBuffer
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Job{Runner: e.runner, DatabaseURL: app, Full: never, Diff: never, Log: slog.New(slog.NewJSONHandler(&jobLog, nil))}.Run(runCtx)
	}()
	for deadline := time.Now().Add(3 * time.Minute); !strings.Contains(jobLog.String(), "backup scheduler started"); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("job did not start: %s", jobLog.String())
		}
	}
	stop()
	<-done
	if l := jobLog.String(); !strings.Contains(l, "taking one now") || !strings.Contains(l, `"status":"ok"`) || !strings.Contains(l, "backup scheduler stopped") {
		t.Errorf("job log: %s", l)
	}
	if info, err := e.runner.Info(ctx); err != nil || len(info.Backups) != 1 || info.Backups[0].Type != Full {
		t.Fatalf("after the job's first run: %+v %v", info, err)
	}
	// Three segments of changes after the backup; the middle one is damaged.
	var segs []string
	for i := range 3 {
		dbfixture.Exec(t, app, "INSERT INTO app.settings VALUES ('after-"+string(rune('a'+i))+"', 'x')")
		segs = append(segs, archivetest.SwitchAndWait(t, app, testArchiveTimeout+time.Minute))
	}
	var afterAll time.Time
	if err := archivetest.Connect(t, app).QueryRow(ctx, "SELECT clock_timestamp()").Scan(&afterAll); err != nil {
		t.Fatal(err)
	}
	dbfixture.Exec(t, app, "INSERT INTO app.settings VALUES ('final', 'x')")
	archivetest.SwitchAndWait(t, app, testArchiveTimeout+time.Minute)
	victim := archivedObject(t, e, segs[1])

	wrongPass := e.runner
	wrongPass.Config.Repo.CipherPass = "not-the-passphrase"

	// The scheduled job reports a failed backup, without a secret.
	var logs bytes.Buffer
	var reported []error
	job := Job{Runner: wrongPass, DatabaseURL: app, Log: slog.New(slog.NewJSONHandler(&logs, nil)),
		Report: func(err error) { reported = append(reported, err) }}
	if err := job.Once(ctx, Diff); err == nil || len(reported) != 1 || !strings.Contains(logs.String(), `"status":"failed"`) {
		t.Errorf("failed backup: err %v, reported %v, log %s", err, reported, logs.String())
	} else {
		e.noSecrets(t, "job log", logs.String()+reported[0].Error())
		if strings.Contains(logs.String()+reported[0].Error(), wrongPass.Config.Repo.CipherPass) {
			t.Error("the job shows the passphrase it was given")
		}
	}
	// Each case targets either a missing directory or an existing empty one
	// (a fresh volume's mount point); both must be left as they were.
	for _, tc := range []struct {
		name     string
		damage   func(t *testing.T)
		runner   Runner
		target   Target
		existing bool
		wantErr  string
	}{
		{"missing segment, latest", func(t *testing.T) { hide(t, victim) }, e.runner, Target{Type: Latest}, false, "missing or unreadable"},
		{"missing segment, time", func(t *testing.T) { hide(t, victim) }, e.runner, Target{Type: Time, Time: afterAll}, true, "the recovery target was not reached"},
		{"corrupt segment", func(t *testing.T) { corrupt(t, victim) }, e.runner, Target{Type: Latest}, true, "missing or unreadable"},
		{"wrong passphrase", func(*testing.T) {}, wrongPass, Target{Type: Latest}, false, "wrong repository passphrase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.damage(t)
			for _, existing := range []bool{tc.existing} {
				dir := filepath.Join(e.base, "target-"+strings.ReplaceAll(tc.name, " ", "-"))
				if existing {
					dir += "-existing"
					if err := os.Mkdir(dir, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				_, err := tc.runner.Recover(ctx, RecoverOptions{Target: tc.target, DataDir: dir, BinDir: e.bin, Timeout: 3 * time.Minute})
				if err == nil {
					t.Fatalf("recovery into %s succeeded despite the damage", dir)
				}
				t.Logf("error: %v", err)
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %q does not say %q", err, tc.wantErr)
				}
				e.noSecrets(t, "error", err.Error())
				if strings.Contains(err.Error(), wrongPass.Config.Repo.CipherPass) {
					t.Error("error shows the passphrase it was given")
				}
				entries, statErr := os.ReadDir(dir)
				switch {
				case existing && statErr != nil:
					t.Errorf("existing target %s: %v", dir, statErr)
				case existing && len(entries) != 0:
					t.Errorf("existing target %s now holds %d entries, want it left empty", dir, len(entries))
				case !existing && !errors.Is(statErr, os.ErrNotExist):
					t.Errorf("target %s exists after a failed recovery (err %v)", dir, statErr)
				}
				// Nothing staged beside the target either.
				if left, _ := filepath.Glob(filepath.Join(e.base, ".target-*")); len(left) != 0 {
					t.Errorf("staging directories left behind: %v", left)
				}
			}
		})
	}
}

// sameData compares fingerprints: every table's rows exactly, views and
// functions by name. A sequence may be ahead after a recovery (PostgreSQL
// WAL-logs sequences 32 values ahead, a documented gap), never behind.
func sameData(t *testing.T, got, want map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if strings.HasPrefix(want[k], "sequence last=") {
			var g, w int64
			_, err1 := fmt.Sscanf(got[k], "sequence last=%d", &g)
			_, err2 := fmt.Sscanf(want[k], "sequence last=%d", &w)
			if err1 != nil || err2 != nil || g < w {
				t.Errorf("%s: recovered %q, want at least %q", k, got[k], want[k])
			}
			continue
		}
		if got[k] != want[k] {
			t.Errorf("%s: recovered %q, want %q", k, got[k], want[k])
		}
	}
	if len(got) != len(want) {
		t.Errorf("recovered %d relations, want %d: %v", len(got), len(want), slices.Sorted(maps.Keys(got)))
	}
}

// archivedObject is the path of a segment's object in the S3 server's
// posix backend.
func archivedObject(t *testing.T, e *env, seg string) string {
	t.Helper()
	pattern := filepath.Join(e.s3.Dir, e.cfg.Repo.Bucket, e.cfg.Repo.Path, "archive", e.cfg.Stanza, "15-1", seg[:16], seg+"-*")
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) != 1 {
		t.Fatalf("archived object of %s: %v %v", seg, m, err)
	}
	return m[0]
}

// hide moves the object away until the subtest ends.
func hide(t *testing.T, path string) {
	t.Helper()
	if err := os.Rename(path, path+".hidden"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Rename(path+".hidden", path); err != nil {
			t.Errorf("put back %s: %v", path, err)
		}
	})
}

// corrupt flips bytes in the middle of the object until the subtest ends.
func corrupt(t *testing.T, path string) {
	t.Helper()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := slices.Clone(orig)
	for i := len(bad) / 2; i < len(bad)/2+64 && i < len(bad); i++ {
		bad[i] ^= 0xff
	}
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(path, orig, 0o644); err != nil {
			t.Errorf("restore %s: %v", path, err)
		}
	})
}
