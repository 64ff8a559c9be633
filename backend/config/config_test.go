package config

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const dbURL = "postgres://app:s3cretpw@db.internal:5432/helloagents?sslmode=disable"

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{"DATABASE_URL": dbURL}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != "0.0.0.0" || c.Port != 8000 || c.SentryTracesSampleRate != 0.1 ||
		c.HealthTimeout != 2*time.Second || c.LogLevel != slog.LevelInfo || c.Addr() != "0.0.0.0:8000" ||
		c.ShutdownDelay != 5*time.Second || c.ShutdownTimeout != 20*time.Second ||
		c.MetricsPort != 0 || c.MetricsAddr() != "" || c.ImageFingerprint != "" {
		t.Errorf("defaults: got %+v", c)
	}
}

func TestLoadValid(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DATABASE_URL":              dbURL,
		"HOST":                      "127.0.0.1",
		"PORT":                      "18000",
		"APP_VERSION":               "1.2.3-abc",
		"AI_API_KEY":                "sk-xyz",
		"SENTRY_DSN":                "https://public@o1.ingest.sentry.io/42",
		"SENTRY_ENVIRONMENT":        "staging",
		"SENTRY_TRACES_SAMPLE_RATE": "0.25",
		"CORS_ALLOWED_ORIGINS":      "https://app.example.com, http://localhost:3000/",
		"SANDBOX_POOL_URL":          "http://127.0.0.1:9000/health",
		"HEALTH_CHECK_TIMEOUT":      "500ms",
		"SHUTDOWN_DELAY":            "0s",
		"SHUTDOWN_TIMEOUT":          "3s",
		"LOG_LEVEL":                 "debug",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://app.example.com", "http://localhost:3000"}
	if fmt.Sprint(c.CORSAllowedOrigins) != fmt.Sprint(want) {
		t.Errorf("origins = %v, want %v", c.CORSAllowedOrigins, want)
	}
	if c.Port != 18000 || c.SentryTracesSampleRate != 0.25 || c.HealthTimeout != 500*time.Millisecond ||
		c.LogLevel != slog.LevelDebug || c.Version != "1.2.3-abc" || c.ShutdownDelay != 0 || c.ShutdownTimeout != 3*time.Second {
		t.Errorf("got %+v", c)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // substrings of the error
		hide []string // substrings that must not appear
	}{
		{"missing database", map[string]string{}, []string{"DATABASE_URL is required"}, nil},
		{"bad database keeps secret", map[string]string{"DATABASE_URL": "postgres://u:hunter2@host:notaport/db"},
			[]string{"DATABASE_URL (value hidden"}, []string{"hunter2"}},
		{"bad port", map[string]string{"DATABASE_URL": dbURL, "PORT": "99999"},
			[]string{`PORT="99999"`, "1 to 65535"}, nil},
		{"bad host", map[string]string{"DATABASE_URL": dbURL, "HOST": "not a host!"},
			[]string{`HOST="not a host!"`, "IP address"}, nil},
		{"bad rate", map[string]string{"DATABASE_URL": dbURL, "SENTRY_TRACES_SAMPLE_RATE": "1.5"},
			[]string{`SENTRY_TRACES_SAMPLE_RATE="1.5"`, "0 to 1"}, nil},
		{"bad dsn hidden", map[string]string{"DATABASE_URL": dbURL, "SENTRY_DSN": "nope-secretkey"},
			[]string{"SENTRY_DSN (value hidden"}, []string{"secretkey"}},
		{"bad origin", map[string]string{"DATABASE_URL": dbURL, "CORS_ALLOWED_ORIGINS": "https://ok.example,ftp://x/y"},
			[]string{`CORS_ALLOWED_ORIGINS="ftp://x/y"`}, []string{"ok.example"}},
		{"bad sandbox url redacts password", map[string]string{"DATABASE_URL": dbURL, "SANDBOX_POOL_URL": "ftp://u:pw123@pool"},
			[]string{"SANDBOX_POOL_URL=", "http://"}, []string{"pw123"}},
		{"bad sandbox url redacts query values", map[string]string{"DATABASE_URL": dbURL, "SANDBOX_POOL_URL": "ftp://pool/health?token=tok-SECRET"},
			[]string{"SANDBOX_POOL_URL=", "ftp://pool/health?token=[REDACTED]"}, []string{"tok-SECRET"}},
		{"bad origin redacts user info", map[string]string{"DATABASE_URL": dbURL, "CORS_ALLOWED_ORIGINS": "https://u:pw-SECRET@app.example/x"},
			[]string{"CORS_ALLOWED_ORIGINS="}, []string{"pw-SECRET"}},
		{"bad version", map[string]string{"DATABASE_URL": dbURL, "APP_VERSION": "1.0 beta"},
			[]string{`APP_VERSION="1.0 beta"`}, nil},
		{"bad environment", map[string]string{"DATABASE_URL": dbURL, "SENTRY_ENVIRONMENT": "prod/eu"},
			[]string{`SENTRY_ENVIRONMENT="prod/eu"`}, nil},
		{"bad timeout", map[string]string{"DATABASE_URL": dbURL, "HEALTH_CHECK_TIMEOUT": "2"},
			[]string{`HEALTH_CHECK_TIMEOUT="2"`, "Go duration"}, nil},
		{"delay not a duration", map[string]string{"DATABASE_URL": dbURL, "SHUTDOWN_DELAY": "5"},
			[]string{`SHUTDOWN_DELAY="5"`, "Go duration from 0s to 1m0s"}, nil},
		{"delay too long", map[string]string{"DATABASE_URL": dbURL, "SHUTDOWN_DELAY": "2m"},
			[]string{`SHUTDOWN_DELAY="2m"`, "from 0s to 1m0s"}, nil},
		{"negative delay", map[string]string{"DATABASE_URL": dbURL, "SHUTDOWN_DELAY": "-1s"},
			[]string{`SHUTDOWN_DELAY="-1s"`, "from 0s to 1m0s"}, nil},
		{"bad shutdown timeout", map[string]string{"DATABASE_URL": dbURL, "SHUTDOWN_TIMEOUT": "soon"},
			[]string{`SHUTDOWN_TIMEOUT="soon"`, "from 0s to 10m0s"}, nil},
		{"bad level", map[string]string{"DATABASE_URL": dbURL, "LOG_LEVEL": "loud"},
			[]string{`LOG_LEVEL="loud"`, "debug, info"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.env))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, h := range tt.hide {
				if strings.Contains(err.Error(), h) {
					t.Errorf("error %q leaks %q", err, h)
				}
			}
		})
	}
}

func TestLoadReportsAllErrors(t *testing.T) {
	_, err := Load(env(map[string]string{"PORT": "x", "HOST": "!", "SENTRY_TRACES_SAMPLE_RATE": "-1"}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"DATABASE_URL", "PORT", "HOST", "SENTRY_TRACES_SAMPLE_RATE"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not mention %s: %v", name, err)
		}
	}
}

func TestLogValueHidesSecrets(t *testing.T) {
	c, err := Load(env(map[string]string{"DATABASE_URL": dbURL, "AI_API_KEY": "sk-topsecret"}))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "config", c)
	for _, s := range []string{"s3cretpw", "sk-topsecret", "db.internal"} {
		if strings.Contains(b.String(), s) {
			t.Errorf("log leaks %q: %s", s, b.String())
		}
	}
}

// TestMetricsPort proves METRICS_PORT is optional (unset or empty:
// disabled), validated like PORT and never PORT itself, each refusal
// naming the variable, the value and what is allowed.
func TestMetricsPort(t *testing.T) {
	tests := []struct {
		name       string
		port, mp   string
		wantPort   int
		wantAddr   string
		wantErrors []string
	}{
		{"unset", "", "", 0, "", nil},
		{"empty", "", "  ", 0, "", nil},
		{"set", "", "9102", 9102, "127.0.0.1:9102", nil},
		{"lowest", "", "1", 1, "127.0.0.1:1", nil},
		{"highest", "", "65535", 65535, "127.0.0.1:65535", nil},
		{"next to a custom PORT", "18000", "18001", 18001, "127.0.0.1:18001", nil},
		{"zero", "", "0", 0, "", []string{`METRICS_PORT="0" is invalid`, "from 1 to 65535", "other than PORT (8000)", "unset to disable"}},
		{"too high", "", "65536", 0, "", []string{`METRICS_PORT="65536" is invalid`, "from 1 to 65535"}},
		{"negative", "", "-1", 0, "", []string{`METRICS_PORT="-1" is invalid`}},
		{"not a number", "", "metrics", 0, "", []string{`METRICS_PORT="metrics" is invalid`}},
		{"default PORT", "", "8000", 0, "", []string{`METRICS_PORT="8000" is invalid`, "other than PORT (8000)"}},
		{"custom PORT", "18000", "18000", 0, "", []string{`METRICS_PORT="18000" is invalid`, "other than PORT (18000)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env(map[string]string{"DATABASE_URL": dbURL, "HOST": "127.0.0.1", "PORT": tt.port, "METRICS_PORT": tt.mp}))
			if len(tt.wantErrors) == 0 {
				if err != nil || c.MetricsPort != tt.wantPort || c.MetricsAddr() != tt.wantAddr {
					t.Errorf("got port %d addr %q err %v; want %d %q", c.MetricsPort, c.MetricsAddr(), err, tt.wantPort, tt.wantAddr)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; port %d", c.MetricsPort)
			}
			for _, w := range tt.wantErrors {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestImageFingerprint proves IMAGE_FINGERPRINT is optional and refused
// when it is not a short printable label value.
func TestImageFingerprint(t *testing.T) {
	tests := []struct {
		value, want string
		ok          bool
	}{
		{"", "", true},
		{"3f9a1c0b2d", "3f9a1c0b2d", true},
		{" sha256:3f9a1c0b2d ", "sha256:3f9a1c0b2d", true},
		{"v1.2.3+build_7-x", "v1.2.3+build_7-x", true},
		{strings.Repeat("a", 128), strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), "", false},
		{"-leading", "", false},
		{"has space", "", false},
		{`quote"`, "", false},
		{"naïve", "", false},
	}
	for _, tt := range tests {
		c, err := Load(env(map[string]string{"DATABASE_URL": dbURL, "IMAGE_FINGERPRINT": tt.value}))
		if tt.ok != (err == nil) || c.ImageFingerprint != tt.want {
			t.Errorf("%q: got %q, err %v", tt.value, c.ImageFingerprint, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "IMAGE_FINGERPRINT=")) {
			t.Errorf("%q: error %v does not name the variable", tt.value, err)
		}
	}
}
