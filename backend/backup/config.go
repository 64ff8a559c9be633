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

	"github.com/helloagents/infra/backend/pgbackup"
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
	var p problems
	c := readConfig(get)
	p.checkDatabaseURL(c.DatabaseURL)
	c.Destination = p.destination(get(pgbackup.EnvDestination))
	if c.Destination.Scheme == "s3" {
		p.s3Settings(&c)
	}
	c.PartSizeMiB = p.wholeNumber(get, pgbackup.EnvS3PartSizeMB, DefaultPartSizeMiB, 5, 512,
		"want a whole number of MiB from 5 to 512 (S3's minimum part is 5 MiB)")
	c.Schedule, c.SchedulerSpec = p.schedule(c.Schedule)
	days := p.wholeNumber(get, pgbackup.EnvRetentionDays, DefaultRetentionDays, 1, 3650,
		"want a whole number of days from 1 to 3650")
	c.Retention = time.Duration(days) * 24 * time.Hour
	c.KeepLast = p.wholeNumber(get, pgbackup.EnvKeepLast, DefaultKeepLast, 1, 1000,
		"want a whole number from 1 to 1000")
	p.checkSentryDSN(c.SentryDSN)
	return c, errors.Join(p...)
}

// readConfig takes the settings that are used as given (or defaulted later).
func readConfig(get func(string) string) Config {
	return Config{
		DatabaseURL:     get(pgbackup.EnvDatabaseURL),
		S3Endpoint:      get(pgbackup.EnvS3Endpoint),
		S3Region:        get(pgbackup.EnvS3Region),
		AccessKeyID:     get(pgbackup.EnvAccessKeyID),
		SecretAccessKey: get(pgbackup.EnvSecretAccessKey),
		Schedule:        get(pgbackup.EnvSchedule),
		SentryDSN:       get(pgbackup.EnvSentryDSN),
		SentryEnv:       get(pgbackup.EnvSentryEnvironment),
		PGBin:           get(pgbackup.EnvPGBin),
		pgPassword:      get(pgbackup.EnvPGPassword),
	}
}

// problems collects the configuration errors so that LoadConfig reports
// them all at once, in the order the variables are checked.
type problems []error

// bad records a variable whose value is not allowed; the value is redacted.
func (p *problems) bad(name, value, allowed string) {
	*p = append(*p, fmt.Errorf("%s=%q: %s", name, redact.Value(value), allowed))
}

// checkDatabaseURL checks DATABASE_URL names a database; it may be empty.
func (p *problems) checkDatabaseURL(raw string) {
	if raw == "" {
		return
	}
	if _, err := DatabaseName(raw); err != nil {
		*p = append(*p, fmt.Errorf("DATABASE_URL=%q: %w", RedactURL(raw), err))
	}
}

// destination parses BACKUP_DESTINATION; on error the zero Destination.
func (p *problems) destination(raw string) Destination {
	dest, err := ParseDestination(raw)
	if err != nil {
		p.bad(pgbackup.EnvDestination, raw, err.Error())
	}
	return dest
}

// s3Settings defaults and checks the endpoint, region and credentials an
// s3:// destination needs.
func (p *problems) s3Settings(c *Config) {
	if c.S3Endpoint == "" {
		c.S3Endpoint = DefaultS3Endpoint
	}
	if !validS3Endpoint(c.S3Endpoint) {
		p.bad(pgbackup.EnvS3Endpoint, RedactURL(c.S3Endpoint),
			"want http(s)://host[:port] with no path, query or user info (R2: https://<account>.r2.cloudflarestorage.com)")
	}
	if c.S3Region == "" {
		c.S3Region = DefaultS3Region
	}
	if c.AccessKeyID == "" {
		*p = append(*p, errors.New("AWS_ACCESS_KEY_ID: required for an s3:// destination"))
	}
	if c.SecretAccessKey == "" {
		*p = append(*p, errors.New("AWS_SECRET_ACCESS_KEY: required for an s3:// destination"))
	}
}

// validS3Endpoint reports whether raw is http(s)://host[:port] and nothing more.
func validS3Endpoint(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") &&
		u.Host != "" && u.User == nil && (u.Path == "" || u.Path == "/") && u.RawQuery == ""
}

// wholeNumber reads the optional integer variable name, def when unset.
// A value outside [lo, hi] is recorded with allowed; the parsed number
// (0 when not a number) is still returned, as the caller does not use the
// Config when there are problems.
func (p *problems) wholeNumber(get func(string) string, name string, def, lo, hi int, allowed string) int {
	v := get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.bad(name, v, allowed)
	}
	return n
}

// schedule defaults BACKUP_SCHEDULE and parses it as cron syntax.
func (p *problems) schedule(spec string) (string, cron.Schedule) {
	if spec == "" {
		spec = DefaultSchedule
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		p.bad(pgbackup.EnvSchedule, spec,
			`want a 5-field cron expression ("0 3 * * *") or a descriptor ("@daily", "@every 6h"): `+err.Error())
	}
	return spec, sched
}

// checkSentryDSN checks SENTRY_DSN is a URL without showing it: the DSN
// carries the project key.
func (p *problems) checkSentryDSN(dsn string) {
	if dsn == "" {
		return
	}
	if u, err := url.Parse(dsn); err != nil || u.Scheme == "" || u.Host == "" {
		*p = append(*p, errors.New("SENTRY_DSN: not a URL (https://<key>@<host>/<project>); value not shown"))
	}
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
