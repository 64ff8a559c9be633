// Package pitr drives pgBackRest, the physical backup and WAL-archive engine
// behind the platform's point-in-time recovery: it renders pgBackRest's
// settings (an S3/R2 or POSIX repository, asynchronous archiving through a
// spool, retention, encryption), runs stanza-create, check, backups and info,
// and recovers a cluster to a time, a restore point or the latest archived
// WAL into a fresh data directory.
//
// Secrets (S3 keys, the repository passphrase) never appear in a rendered
// file, an argument list, an error or a log line: they reach pgBackRest only
// through its PGBACKREST_* environment variables.
package pitr

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/helloagents/infra/backend/postgres"
)

// RepoType is where the repository lives.
type RepoType string

// The repository types the platform uses.
const (
	RepoS3    RepoType = "s3"    // R2 (staging, production) or any S3 server
	RepoPOSIX RepoType = "posix" // a directory, e.g. a named volume (dev)
)

// Repo is pgBackRest's repository 1.
type Repo struct {
	Type RepoType
	// Path is repo1-path: the stack/region prefix inside the bucket
	// ("/production/eu-west"), or the directory of a POSIX repository.
	Path string

	// S3 only. Endpoint is host[:port] without a scheme (always HTTPS).
	Endpoint string
	Bucket   string
	// Region is the SigV4 region; R2 wants "auto" (the default).
	Region string
	// CAFile, when set, is the CA bundle that verifies the endpoint's
	// certificate (tests with a self-signed CA).
	CAFile          string
	AccessKeyID     string // secret
	SecretAccessKey string // secret

	// CipherPass encrypts the repository (aes-256-cbc); empty means no
	// encryption, which only dev accepts.
	CipherPass string // secret

	// RetentionFull is how many full backups are kept (with the WAL they need).
	RetentionFull int
}

// Config is everything pgBackRest needs for one cluster.
type Config struct {
	// Stanza names the cluster in the repository ("main").
	Stanza string
	// DataDir is the cluster's data directory (pg1-path).
	DataDir string
	// SocketDir and Port reach the cluster over its unix socket; User is the
	// database superuser pgBackRest connects as (pg1-user).
	SocketDir string
	Port      int
	User      string
	// SpoolPath keeps the asynchronous archive queue; it must be on a volume
	// so that WAL waiting for an unreachable repository survives restarts.
	SpoolPath string
	// LockPath holds pgBackRest's lock files (default /tmp/pgbackrest).
	LockPath string
	// ProcessMax is the number of parallel transfer processes (default 2).
	ProcessMax int
	Repo       Repo
}

var stanzaRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// Validate reports every problem at once. It never echoes a secret.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !stanzaRE.MatchString(c.Stanza) {
		add("stanza %q: letters, digits, - and _, at most 63", c.Stanza)
	}
	if !path.IsAbs(c.DataDir) {
		add("data directory %q: must be an absolute path", c.DataDir)
	}
	if !path.IsAbs(c.SpoolPath) {
		add("spool path %q: must be an absolute path", c.SpoolPath)
	}
	if c.Port < 0 || c.Port > 65535 {
		add("port %d: must be 1..65535", c.Port)
	}
	if c.Repo.RetentionFull < 1 || c.Repo.RetentionFull > 9999999 {
		add("retention: keep at least 1 full backup, got %d", c.Repo.RetentionFull)
	}
	c.Repo.validate(add)
	return errors.Join(errs...)
}

// validate reports the repository's problems through add.
func (r Repo) validate(add func(format string, a ...any)) {
	switch r.Type {
	case RepoPOSIX:
		if !path.IsAbs(r.Path) {
			add("posix repository path %q: must be an absolute path", r.Path)
		}
	case RepoS3:
		r.validateS3(add)
	default:
		add("repository type %q: want s3 or posix", r.Type)
	}
}

func (r Repo) validateS3(add func(format string, a ...any)) {
	if !strings.HasPrefix(r.Path, "/") || strings.Contains(r.Path, "//") {
		add("repository path %q: must start with / (e.g. /production/eu-west)", r.Path)
	}
	host, port, err := splitEndpoint(r.Endpoint)
	if err != nil || host == "" || strings.Contains(host, "/") || port < 0 {
		add("s3 endpoint %q: want host[:port] without a scheme", r.Endpoint)
	}
	if r.Bucket == "" {
		add("s3 bucket: required")
	}
	if r.AccessKeyID == "" || r.SecretAccessKey == "" {
		add("s3 credentials: access key id and secret access key are required")
	}
}

func splitEndpoint(ep string) (host string, port int, err error) {
	if strings.Contains(ep, "://") {
		return "", 0, errors.New("scheme not allowed")
	}
	h, p, err := net.SplitHostPort(ep)
	if err != nil {
		return ep, 0, nil // no port
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return h, -1, fmt.Errorf("bad port %q", p)
	}
	return h, n, nil
}

// Options are pgBackRest's settings without secrets, by option name. Global
// options and the stanza's pg1-* options share one map: pgBackRest accepts
// both in [global] and as PGBACKREST_* variables.
func (c Config) Options() map[string]string {
	o := map[string]string{
		"stanza":                    c.Stanza,
		"pg1-path":                  c.DataDir,
		"archive-async":             "y",
		"spool-path":                c.SpoolPath,
		"repo1-retention-full":      strconv.Itoa(c.Repo.RetentionFull),
		"repo1-retention-full-type": "count",
		"process-max":               cmp.Or(nonZero(c.ProcessMax), "2"),
		"compress-type":             "lz4",
		"start-fast":                "y",
		"log-level-console":         "info",
		"log-level-stderr":          "off",
		"log-level-file":            "off",
		"repo1-type":                string(c.Repo.Type),
		"repo1-path":                c.Repo.Path,
	}
	// Options pgBackRest's defaults serve when the value is not set.
	for _, opt := range []struct{ name, value string }{
		{"lock-path", c.LockPath},
		{"pg1-socket-path", c.SocketDir},
		{"pg1-port", nonZero(c.Port)},
		{"pg1-user", c.User},
	} {
		if opt.value != "" {
			o[opt.name] = opt.value
		}
	}
	if c.Repo.Type == RepoS3 {
		c.Repo.s3Options(o)
	}
	if c.Repo.CipherPass != "" {
		o["repo1-cipher-type"] = "aes-256-cbc"
	}
	return o
}

// nonZero is n in decimal, or "" for 0.
func nonZero(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// s3Options adds the options of an S3 repository to o.
func (r Repo) s3Options(o map[string]string) {
	host, port, _ := splitEndpoint(r.Endpoint)
	o["repo1-s3-endpoint"] = host
	if port > 0 {
		o["repo1-storage-port"] = strconv.Itoa(port)
	}
	o["repo1-s3-bucket"] = r.Bucket
	region := r.Region
	if region == "" {
		region = "auto"
	}
	o["repo1-s3-region"] = region
	o["repo1-s3-uri-style"] = "path"
	if r.CAFile != "" {
		o["repo1-storage-ca-file"] = r.CAFile
	}
}

// Render returns a pgbackrest.conf: repository and archive options in
// [global], the cluster's pg1-* options in [<stanza>]. It holds no secret;
// give those through SecretEnv.
func (c Config) Render() []byte {
	var global, stanza strings.Builder
	o := c.Options()
	delete(o, "stanza") // a command-line option: no section names it
	for _, k := range slices.Sorted(maps.Keys(o)) {
		if strings.HasPrefix(k, "pg1-") {
			fmt.Fprintf(&stanza, "%s=%s\n", k, o[k])
		} else {
			fmt.Fprintf(&global, "%s=%s\n", k, o[k])
		}
	}
	return []byte("# Rendered by backend/pitr. Secrets come from PGBACKREST_* variables.\n[global]\n" +
		global.String() + "\n[" + c.Stanza + "]\n" + stanza.String())
}

// Env returns Options as PGBACKREST_* variables (plain, safe to show).
func (c Config) Env() []string {
	o := c.Options()
	var env []string
	for _, k := range slices.Sorted(maps.Keys(o)) {
		env = append(env, EnvName(k)+"="+o[k])
	}
	return env
}

// SecretEnv returns the secrets as PGBACKREST_* variables, the only way they
// reach pgBackRest.
func (c Config) SecretEnv() []string {
	var env []string
	if c.Repo.Type == RepoS3 {
		env = append(env,
			EnvName("repo1-s3-key")+"="+c.Repo.AccessKeyID,
			EnvName("repo1-s3-key-secret")+"="+c.Repo.SecretAccessKey)
	}
	if c.Repo.CipherPass != "" {
		env = append(env, EnvName("repo1-cipher-pass")+"="+c.Repo.CipherPass)
	}
	return env
}

// secrets lists the secret values, for scrubbing command output.
func (c Config) secrets() []string {
	var s []string
	for _, v := range []string{c.Repo.AccessKeyID, c.Repo.SecretAccessKey, c.Repo.CipherPass} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

// EnvName is pgBackRest's environment variable for an option.
func EnvName(option string) string {
	return postgres.EnvPGBackRestPrefix + strings.ToUpper(strings.ReplaceAll(option, "-", "_"))
}

// PostgresSettings are the server settings that archive every WAL segment
// through pgBackRest: no committed transaction waits longer than
// archiveTimeout to leave the host (when the repository is reachable).
// configFile, when not empty, is passed to pgBackRest with --config.
func PostgresSettings(stanza, configFile string, archiveTimeout time.Duration) map[string]string {
	cmd := "pgbackrest"
	if configFile != "" {
		cmd += " --config=" + configFile
	}
	return map[string]string{
		"wal_level":       "replica",
		"archive_mode":    "on",
		"archive_command": cmd + " --stanza=" + stanza + " archive-push %p",
		"archive_timeout": strconv.Itoa(int(archiveTimeout.Round(time.Second)/time.Second)) + "s",
	}
}
