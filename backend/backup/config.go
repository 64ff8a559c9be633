package backup

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/helloagents/infra/backend/redact"
)

// Defaults of the optional settings.
const (
	DefaultSchedule      = "0 3 * * *" // daily at 03:00 UTC
	DefaultRetentionDays = 14
	DefaultKeepLast      = 3
	DefaultS3Region      = "us-east-1" // Cloudflare R2 accepts it as an alias of "auto"
	DefaultS3Endpoint    = "https://s3.amazonaws.com"
	DefaultPartSizeMiB   = 16
)

// Config is the job's configuration, read from the environment.
type Config struct {
	DatabaseURL string // may be empty: restore --target-url and list do not need it
	Destination Destination

	S3Endpoint      string // scheme://host[:port], https unless a test server
	S3Region        string
	AccessKeyID     string
	SecretAccessKey string
	PartSizeMiB     int // multipart part size: the upload's memory is one part

	Schedule      string
	Retention     time.Duration
	KeepLast      int
	SentryDSN     string
	SentryEnv     string
	PGBin         string // directory of pg_dump and pg_restore; "" means PATH
	SchedulerSpec cron.Schedule

	pgPassword string // PGPASSWORD, used by the PostgreSQL programs and pgx; only redacted
}

// Destination is where backups go: a directory (file://) or a bucket (s3://).
type Destination struct {
	Scheme string // "file" or "s3"
	Path   string // file: absolute directory
	Bucket string // s3
	Prefix string // s3: key prefix without leading or trailing slash, may be empty
}

// String returns the destination as configured; it holds no credential.
func (d Destination) String() string {
	if d.Scheme == "file" {
		return "file://" + d.Path
	}
	if d.Prefix == "" {
		return "s3://" + d.Bucket
	}
	return "s3://" + d.Bucket + "/" + d.Prefix
}

// Secrets returns the credential values in c, for redaction of any output.
func (c Config) Secrets() []string {
	out := []string{c.SecretAccessKey, c.AccessKeyID, c.pgPassword}
	if pw := urlPassword(c.DatabaseURL); pw != "" {
		out = append(out, pw)
	}
	if c.SentryDSN != "" {
		if u, err := url.Parse(c.SentryDSN); err == nil && u.User != nil {
			out = append(out, u.User.Username())
		}
	}
	return out
}

// LoadConfig reads and validates the configuration from lookup (os.LookupEnv
// in the program). It returns every problem at once, each naming the
// variable, the offending value (never for a secret) and what is allowed.
func LoadConfig(lookup func(string) (string, bool)) (Config, error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	var errs []error
	bad := func(name, value, allowed string) {
		errs = append(errs, fmt.Errorf("%s=%q: %s", name, redact.Value(value), allowed))
	}
	c := Config{
		DatabaseURL:     get("DATABASE_URL"),
		S3Endpoint:      get("BACKUP_S3_ENDPOINT"),
		S3Region:        get("BACKUP_S3_REGION"),
		AccessKeyID:     get("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: get("AWS_SECRET_ACCESS_KEY"),
		Schedule:        get("BACKUP_SCHEDULE"),
		SentryDSN:       get("SENTRY_DSN"),
		SentryEnv:       get("SENTRY_ENVIRONMENT"),
		PGBin:           get("PG_BIN"),
		pgPassword:      get("PGPASSWORD"),
	}

	if c.DatabaseURL != "" {
		if _, err := DatabaseName(c.DatabaseURL); err != nil {
			errs = append(errs, fmt.Errorf("DATABASE_URL=%q: %w", RedactURL(c.DatabaseURL), err))
		}
	}

	raw := get("BACKUP_DESTINATION")
	dest, err := ParseDestination(raw)
	if err != nil {
		bad("BACKUP_DESTINATION", raw, err.Error())
	}
	c.Destination = dest

	if dest.Scheme == "s3" {
		if c.S3Endpoint == "" {
			c.S3Endpoint = DefaultS3Endpoint
		}
		if u, err := url.Parse(c.S3Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
			u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			bad("BACKUP_S3_ENDPOINT", RedactURL(c.S3Endpoint),
				"want http(s)://host[:port] with no path, query or user info (R2: https://<account>.r2.cloudflarestorage.com)")
		}
		if c.S3Region == "" {
			c.S3Region = DefaultS3Region
		}
		if c.AccessKeyID == "" {
			errs = append(errs, errors.New("AWS_ACCESS_KEY_ID: required for an s3:// destination"))
		}
		if c.SecretAccessKey == "" {
			errs = append(errs, errors.New("AWS_SECRET_ACCESS_KEY: required for an s3:// destination"))
		}
	}

	c.PartSizeMiB = DefaultPartSizeMiB
	if v := get("BACKUP_S3_PART_SIZE_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 || n > 512 {
			bad("BACKUP_S3_PART_SIZE_MB", v, "want a whole number of MiB from 5 to 512 (S3's minimum part is 5 MiB)")
		}
		c.PartSizeMiB = n
	}

	if c.Schedule == "" {
		c.Schedule = DefaultSchedule
	}
	sched, err := cron.ParseStandard(c.Schedule)
	if err != nil {
		bad("BACKUP_SCHEDULE", c.Schedule,
			`want a 5-field cron expression ("0 3 * * *") or a descriptor ("@daily", "@every 6h"): `+err.Error())
	}
	c.SchedulerSpec = sched

	days := DefaultRetentionDays
	if v := get("BACKUP_RETENTION_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3650 {
			bad("BACKUP_RETENTION_DAYS", v, "want a whole number of days from 1 to 3650")
		}
		days = n
	}
	c.Retention = time.Duration(days) * 24 * time.Hour

	c.KeepLast = DefaultKeepLast
	if v := get("BACKUP_KEEP_LAST"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			bad("BACKUP_KEEP_LAST", v, "want a whole number from 1 to 1000")
		}
		c.KeepLast = n
	}

	if c.SentryDSN != "" {
		if u, err := url.Parse(c.SentryDSN); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, errors.New("SENTRY_DSN: not a URL (https://<key>@<host>/<project>); value not shown"))
		}
	}
	return c, errors.Join(errs...)
}

// ParseDestination parses BACKUP_DESTINATION: file:///absolute/dir or
// s3://bucket[/prefix].
func ParseDestination(raw string) (Destination, error) {
	if raw == "" {
		return Destination{}, errors.New("required: file:///absolute/dir or s3://bucket/prefix")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Destination{}, errors.New("not a URL; want file:///absolute/dir or s3://bucket/prefix")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Destination{}, errors.New("must not carry user info, query or fragment; credentials go in AWS_* variables")
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return Destination{}, errors.New("file URL must have an empty host: file:///absolute/dir")
		}
		if !strings.HasPrefix(u.Path, "/") || path.Clean(u.Path) == "/" {
			return Destination{}, errors.New("file URL needs an absolute directory other than /: file:///absolute/dir")
		}
		return Destination{Scheme: "file", Path: path.Clean(u.Path)}, nil
	case "s3":
		if u.Host == "" {
			return Destination{}, errors.New("s3 URL needs a bucket: s3://bucket/prefix")
		}
		prefix := strings.Trim(u.Path, "/")
		if strings.Contains(prefix, "//") {
			return Destination{}, errors.New("s3 prefix must not contain empty segments")
		}
		return Destination{Scheme: "s3", Bucket: u.Host, Prefix: prefix}, nil
	default:
		return Destination{}, fmt.Errorf("scheme %q not supported; want file:// or s3://", u.Scheme)
	}
}
