// Package config reads the backend's settings from environment variables and
// validates them once, at start, so that a bad deployment fails with a list of
// every wrong variable instead of misbehaving later.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helloagents/infra/backend/drain"
	"github.com/helloagents/infra/backend/redact"
	"github.com/helloagents/infra/backend/server"
)

// Config is the validated configuration of the server.
type Config struct {
	// DatabaseURL is the PostgreSQL connection string. Secret: it usually
	// carries a password.
	DatabaseURL string
	// Host is the address the HTTP server listens on.
	Host string
	// Port is the TCP port the HTTP server listens on.
	Port int
	// MetricsPort is the TCP port of the Prometheus metrics listener (on
	// Host, apart from the API so the public port never exposes them); 0
	// disables metrics.
	MetricsPort int
	// ImageFingerprint labels helloagents_build_info, so a dashboard tells
	// replicas of the same version but different images apart.
	ImageFingerprint string
	// Version overrides the version stamped into the binary when non-empty.
	Version string
	// AIAPIKey is the AI service key. Secret; only its presence is reported.
	AIAPIKey string
	// SentryDSN enables error reporting to Sentry when non-empty.
	SentryDSN string
	// SentryEnvironment names the deployment in Sentry (dev, staging, production).
	SentryEnvironment string
	// SentryTracesSampleRate is the share of requests traced, 0..1.
	SentryTracesSampleRate float64
	// CORSAllowedOrigins are the browser origins allowed to call the API.
	CORSAllowedOrigins []string
	// SandboxPoolURL is the health URL of the container sandbox pool; empty
	// disables the pool and its check.
	SandboxPoolURL string
	// HealthTimeout bounds every dependency check of the health endpoints.
	HealthTimeout time.Duration
	// ShutdownDelay is how long the server keeps serving after SIGTERM, with
	// readiness 503 and every response closing its connection, so that a
	// health-checking proxy takes the replica out before it stops listening.
	ShutdownDelay time.Duration
	// ShutdownTimeout bounds how long in-flight requests may drain after the
	// delay. Delay plus timeout must fit the container's stop timeout.
	ShutdownTimeout time.Duration
	// LogLevel is the minimum level of the JSON logs.
	LogLevel slog.Level
}

// Defaults applied when a variable is unset or empty.
const (
	DefaultHost             = "0.0.0.0"
	DefaultPort             = server.DefaultPort
	DefaultTracesSampleRate = 0.1
	DefaultHealthTimeout    = 2 * time.Second
	// DefaultShutdownDelay and DefaultShutdownTimeout are the image's stop
	// contract (package drain): the program derives the replicas' grace
	// period from them.
	DefaultShutdownDelay   = drain.ServerDelay
	DefaultShutdownTimeout = drain.ServerTimeout
)

// Load reads every variable through getenv (os.Getenv in production, a map in
// tests) and returns all problems at once, joined, each naming the variable,
// its value (hidden for secrets) and what is allowed.
func Load(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{
		DatabaseURL:            p.databaseURL(server.EnvDatabaseURL),
		Host:                   p.host(server.EnvHost, DefaultHost),
		Port:                   p.port(server.EnvPort, DefaultPort),
		Version:                p.version(server.EnvAppVersion),
		ImageFingerprint:       p.fingerprint(server.EnvImageFingerprint),
		AIAPIKey:               strings.TrimSpace(getenv(server.EnvAIAPIKey)),
		SentryDSN:              p.sentryDSN(server.EnvSentryDSN),
		SentryEnvironment:      p.environment(server.EnvSentryEnvironment),
		SentryTracesSampleRate: p.rate(server.EnvSentryTracesSampleRate, DefaultTracesSampleRate),
		CORSAllowedOrigins:     p.origins(server.EnvCORSAllowedOrigins),
		SandboxPoolURL:         p.httpURL(server.EnvSandboxPoolURL),
		HealthTimeout:          p.duration(server.EnvHealthCheckTimeout, DefaultHealthTimeout, 100*time.Millisecond, time.Minute),
		ShutdownDelay:          p.duration(drain.EnvServerDelay, DefaultShutdownDelay, 0, time.Minute),
		ShutdownTimeout:        p.duration(drain.EnvServerTimeout, DefaultShutdownTimeout, 0, 10*time.Minute),
		LogLevel:               p.level(server.EnvLogLevel),
	}
	c.MetricsPort = p.metricsPort(server.EnvMetricsPort, c.Port)
	return c, errors.Join(p.errs...)
}

// LogValue shows the configuration in logs with secrets reduced to whether
// they are set.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("database_url", setOrUnset(c.DatabaseURL)),
		slog.String("host", c.Host),
		slog.Int("port", c.Port),
		slog.Int("metrics_port", c.MetricsPort),
		slog.String("image_fingerprint", c.ImageFingerprint),
		slog.String("ai_api_key", setOrUnset(c.AIAPIKey)),
		slog.String("sentry_dsn", setOrUnset(c.SentryDSN)),
		slog.String("sentry_environment", c.SentryEnvironment),
		slog.Float64("sentry_traces_sample_rate", c.SentryTracesSampleRate),
		slog.Any("cors_allowed_origins", c.CORSAllowedOrigins),
		slog.Bool("sandbox_pool", c.SandboxPoolURL != ""),
		slog.String("health_timeout", c.HealthTimeout.String()),
		slog.String("shutdown_delay", c.ShutdownDelay.String()),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.String("log_level", c.LogLevel.String()),
	)
}

// Addr is the listen address, host:port.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// MetricsAddr is the metrics listen address, host:port; "" when metrics
// are disabled.
func (c Config) MetricsAddr() string {
	if c.MetricsPort == 0 {
		return ""
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(c.MetricsPort))
}

func setOrUnset(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}

// parser collects one error per bad variable.
type parser struct {
	getenv func(string) string
	errs   []error
}

func (p *parser) fail(name, value, allowed string) {
	p.errs = append(p.errs, fmt.Errorf("%s=%q is invalid: %s", name, redact.Value(value), allowed))
}

// failSecret reports a bad secret without echoing it.
func (p *parser) failSecret(name, allowed string) {
	p.errs = append(p.errs, fmt.Errorf("%s (value hidden, it is a secret) is invalid: %s", name, allowed))
}

func (p *parser) get(name string) string { return strings.TrimSpace(p.getenv(name)) }

func (p *parser) databaseURL(name string) string {
	v := p.get(name)
	const allowed = "want a PostgreSQL connection string such as postgres://user:password@host:5432/dbname?sslmode=disable"
	if v == "" {
		p.errs = append(p.errs, fmt.Errorf("%s is required: %s", name, allowed))
		return ""
	}
	if _, err := pgxpool.ParseConfig(v); err != nil {
		p.failSecret(name, allowed)
		return ""
	}
	return v
}

func (p *parser) host(name, def string) string {
	v := p.get(name)
	if v == "" {
		return def
	}
	if net.ParseIP(strings.Trim(v, "[]")) != nil || hostnameRE.MatchString(v) {
		return strings.Trim(v, "[]")
	}
	p.fail(name, v, "want an IP address (0.0.0.0 for all interfaces, 127.0.0.1 for loopback) or a host name")
	return def
}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

func (p *parser) port(name string, def int) int {
	v := p.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		p.fail(name, v, "want a TCP port number from 1 to 65535")
		return def
	}
	return n
}

// metricsPort parses an optional port that must differ from the API's
// port; unset or empty is 0, metrics disabled.
func (p *parser) metricsPort(name string, apiPort int) int {
	v := p.get(name)
	if v == "" {
		return 0
	}
	allowed := fmt.Sprintf("want a TCP port number from 1 to 65535 other than PORT (%d), or unset to disable metrics", apiPort)
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 || n == apiPort {
		p.fail(name, v, allowed)
		return 0
	}
	return n
}

var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+\-]{0,127}$`)

func (p *parser) version(name string) string {
	v := p.get(name)
	if v != "" && !versionRE.MatchString(v) {
		p.fail(name, v, "want a version such as 1.4.2 or 2024.01.09-abc1234 (letters, digits, '.', '_', '+', '-', at most 128)")
		return ""
	}
	return v
}

var fingerprintRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:+\-]{0,127}$`)

// fingerprint parses an optional image fingerprint, a metric label value:
// 1 to 128 letters, digits, '.', '_', ':', '+' or '-', starting with a
// letter or digit.
func (p *parser) fingerprint(name string) string {
	v := p.get(name)
	if v != "" && !fingerprintRE.MatchString(v) {
		p.fail(name, v, "want an image fingerprint such as 3f9a1c0b2d or sha256:3f9a... (letters, digits, '.', '_', ':', '+', '-', at most 128)")
		return ""
	}
	return v
}

func (p *parser) sentryDSN(name string) string {
	v := p.get(name)
	if v == "" {
		return ""
	}
	if _, err := sentry.NewDsn(v); err != nil {
		p.failSecret(name, "want a Sentry DSN such as https://<key>@<org>.ingest.sentry.io/<project>, or unset to disable Sentry")
		return ""
	}
	return v
}

var environmentRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$`)

func (p *parser) environment(name string) string {
	v := p.get(name)
	if v != "" && !environmentRE.MatchString(v) {
		p.fail(name, v, "want a short name such as dev, staging or production (letters, digits, '.', '_', '-', at most 64)")
		return ""
	}
	return v
}

func (p *parser) rate(name string, def float64) float64 {
	v := p.get(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		p.fail(name, v, "want a number from 0 to 1 (0.1 traces one request in ten)")
		return def
	}
	return f
}

func (p *parser) duration(name string, def, lo, hi time.Duration) time.Duration {
	v := p.get(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		p.fail(name, v, fmt.Sprintf("want a Go duration from %s to %s, such as 2s or 500ms", lo, hi))
		return def
	}
	return d
}

func (p *parser) level(name string) slog.Level {
	v := p.get(name)
	var l slog.Level
	if v == "" {
		return slog.LevelInfo
	}
	if err := l.UnmarshalText([]byte(v)); err != nil {
		p.fail(name, v, "want one of debug, info, warn, error")
		return slog.LevelInfo
	}
	return l
}

// origins parses a comma-separated allow-list of browser origins.
func (p *parser) origins(name string) []string {
	v := p.get(name)
	if v == "" {
		return nil
	}
	var out []string
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o == "*" {
			out = append(out, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			p.fail(name, o, "want a comma-separated list of origins such as https://app.example.com,http://localhost:3000 (scheme and host only), or *")
			continue
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out
}

// httpURL parses an http(s) URL; the value is shown with any password redacted.
func (p *parser) httpURL(name string) string {
	v := p.get(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.fail(name, v, "want an absolute http:// or https:// URL of the sandbox pool's health endpoint, or unset to disable the pool")
		return ""
	}
	return v
}
