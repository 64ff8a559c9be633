package config

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/monitoring"
)

// withFields lays fields over the object at key (short form) of raw.
func withFields(t *testing.T, raw map[string]string, key string, fields map[string]any) map[string]string {
	return stacktest.WithFields(t, raw, FullKey(key), fields)
}

// TestMonitoringValidation has one row per error class of helloagents:slo,
// helloagents:monitoring and the monitoring secrets: each names the key,
// the value and what is allowed, and none quotes a secret.
func TestMonitoringValidation(t *testing.T) {
	type row struct {
		name    string
		stack   string
		slo     map[string]any
		mon     map[string]any
		secrets map[string]string
		other   map[string]map[string]any // further objects by key
		want    []string
	}
	pinned := "ghcr.io/helloagents/prometheus@sha256:" + strings.Repeat("b", 64)
	rows := []row{
		{name: "availability too low", stack: "staging", slo: map[string]any{"availability": 0.5},
			want: []string{"helloagents:slo.availability: invalid value 0.5; allowed: a fraction between 0.95 and 0.99999"}},
		{name: "availability 100 %", stack: "dev", slo: map[string]any{"availability": 1},
			want: []string{"helloagents:slo.availability: invalid value 1; allowed: a fraction between 0.95 and 0.99999"}},
		{name: "period in days", stack: "dev", slo: map[string]any{"period": "30d"},
			want: []string{`helloagents:slo.period: invalid value "30d"; allowed: whole seconds between "1h" and "2160h" (30 days is "720h")`}},
		{name: "period too short", stack: "production", slo: map[string]any{"period": "10m"},
			want: []string{`helloagents:slo.period: invalid value "10m"; allowed: whole seconds`}},
		{name: "period too long", stack: "dev", slo: map[string]any{"period": "2200h"},
			want: []string{`helloagents:slo.period: invalid value "2200h"`}},
		{name: "error ratio zero", stack: "dev", slo: map[string]any{"errorRatio": 0},
			want: []string{"helloagents:slo.errorRatio: invalid value 0; allowed: a fraction above 0 and below 1"}},
		{name: "latency not a bucket", stack: "staging", slo: map[string]any{"latencyP95": "300ms"},
			want: []string{`helloagents:slo.latencyP95: invalid value "300ms"; allowed: one of the latency histogram's buckets: 5ms, 10ms, 25ms, 50ms, 100ms, 250ms, 500ms, 1s, 2.5s, 5s`}},
		{name: "latency not a duration", stack: "dev", slo: map[string]any{"latencyP95": "fast"},
			want: []string{`helloagents:slo.latencyP95: invalid value "fast"`}},
		{name: "windows shorter than four scrapes", stack: "dev", slo: map[string]any{"period": "1h"}, mon: map[string]any{"scrapeInterval": "60s"},
			want: []string{`helloagents:slo.period: invalid value "1h"; allowed: a period whose burn-rate windows fit the scrape interval (slo.period 1h0m0s gives a rate window of`}},
		{name: "scrape interval not whole seconds", stack: "dev", mon: map[string]any{"scrapeInterval": "1500ms"},
			want: []string{`helloagents:monitoring.scrapeInterval: invalid value "1500ms"; allowed: whole seconds between "1s" and "5m" (default "15s")`}},
		{name: "scrape interval zero", stack: "staging", mon: map[string]any{"scrapeInterval": "0s"},
			want: []string{`helloagents:monitoring.scrapeInterval: invalid value "0s"`}},
		{name: "scrape interval too long", stack: "dev", mon: map[string]any{"scrapeInterval": "10m"},
			want: []string{`helloagents:monitoring.scrapeInterval: invalid value "10m"`}},
		{name: "retention not a duration", stack: "dev", mon: map[string]any{"retention": "two weeks"},
			want: []string{`helloagents:monitoring.retention: invalid value "two weeks"; allowed: a Prometheus duration ("15d", "12h", "1w") of at least 3d, the longest burn-rate window of the SLO`}},
		{name: "retention shorter than the slow-burn window", stack: "production", mon: map[string]any{"retention": "2d"},
			want: []string{`helloagents:monitoring.retention: invalid value "2d"; allowed: a Prometheus duration`}},
		{name: "remote write over http outside dev", stack: "staging", mon: map[string]any{"remoteWriteUrl": "http://metrics.example.dev/api/v1/write"},
			want: []string{`helloagents:monitoring.remoteWriteUrl: invalid value "http://metrics.example.dev/api/v1/write"; allowed: an https:// URL (HTTP is allowed only in dev)`}},
		{name: "remote write not a URL", stack: "dev", mon: map[string]any{"remoteWriteUrl": "metrics.example.dev"},
			want: []string{`helloagents:monitoring.remoteWriteUrl: invalid value "metrics.example.dev"; allowed: an http(s):// URL`}},
		{name: "remote write username without URL", stack: "dev", mon: map[string]any{"remoteWriteUsername": "u"},
			want: []string{`helloagents:monitoring.remoteWriteUsername: invalid value "u"; allowed: unset without remoteWriteUrl`}},
		{name: "remote write username without password", stack: "production",
			mon:  map[string]any{"remoteWriteUrl": "https://metrics.example.dev/api/v1/write", "remoteWriteUsername": "u"},
			want: []string{"helloagents:monitoringRemoteWritePassword: missing; required with helloagents:monitoring.remoteWriteUsername; set it with: pulumi config set --secret helloagents:monitoringRemoteWritePassword <value>"}},
		{name: "remote write with credentials over http", stack: "production",
			mon:     map[string]any{"remoteWriteUrl": "http://metrics.example.dev/write", "remoteWriteUsername": "u"},
			secrets: map[string]string{KeyMonitoringRemoteWritePassword: "rw-pw-SECRET"},
			want:    []string{`helloagents:monitoring.remoteWriteUrl: invalid value "http://metrics.example.dev/write"; allowed: an https:// URL`}},
		{name: "alert e-mails without SMTP", stack: "staging", mon: map[string]any{"smtpSmarthost": nil, "smtpFrom": nil},
			want: []string{"helloagents:monitoring.smtpSmarthost: missing; helloagents:alerts.emails lists addresses and Alertmanager mails them itself"}},
		{name: "alert e-mails without SMTP in dev", stack: "dev", other: map[string]map[string]any{KeyAlerts: {"emails": []string{"me@example.dev"}}},
			want: []string{"helloagents:monitoring.smtpSmarthost: missing"}},
		{name: "smarthost without port", stack: "production", mon: map[string]any{"smtpSmarthost": "smtp.example.dev"},
			want: []string{`helloagents:monitoring.smtpSmarthost: invalid value "smtp.example.dev"; allowed: host:port of a mail server`}},
		{name: "bad sender", stack: "staging", mon: map[string]any{"smtpFrom": "Alerts <a@example.dev>"},
			want: []string{`helloagents:monitoring.smtpFrom: invalid value "Alerts <a@example.dev>"; allowed: the plain sender address`}},
		{name: "SMTP username without password", stack: "staging", mon: map[string]any{"smtpUsername": "alerts"},
			want: []string{"helloagents:monitoringSmtpPassword: missing; required with helloagents:monitoring.smtpUsername"}},
		{name: "nobody may look", stack: "production", mon: map[string]any{"accessEmails": nil},
			want: []string{"helloagents:monitoring.accessEmails: missing; who may open the Prometheus and Alertmanager UIs (Cloudflare Access)"}},
		{name: "access e-mail with a display name", stack: "staging", mon: map[string]any{"accessEmails": []string{"On call <oncall@helloagents.dev>"}},
			want: []string{`helloagents:monitoring.accessEmails[0]: invalid value "On call <oncall@helloagents.dev>"; allowed: a plain email address`}},
		{name: "access e-mail twice", stack: "staging", mon: map[string]any{"accessEmails": []string{"a@helloagents.dev", "A@helloagents.dev"}},
			want: []string{`helloagents:monitoring.accessEmails[1]: invalid value "A@helloagents.dev"; allowed: an address not listed twice`}},
		{name: "access domain", stack: "production", mon: map[string]any{"accessDomains": []string{"@helloagents.dev"}},
			want: []string{`helloagents:monitoring.accessDomains[0]: invalid value "@helloagents.dev"; allowed: an e-mail domain`}},
		{name: "dev port taken by the API", stack: "dev", mon: map[string]any{"prometheusHostPort": 8000},
			want: []string{"helloagents:monitoring.prometheusHostPort: invalid value 8000; allowed: a port no other published port uses (taken by helloagents:backend.hostPort)"}},
		{name: "dev ports equal", stack: "dev", mon: map[string]any{"alertmanagerHostPort": 9090},
			want: []string{"helloagents:monitoring.alertmanagerHostPort: invalid value 9090; allowed: a port no other published port uses (taken by helloagents:monitoring.prometheusHostPort)"}},
		{name: "dev port out of range", stack: "dev", mon: map[string]any{"alertmanagerHostPort": 70000},
			want: []string{"helloagents:monitoring.alertmanagerHostPort: invalid value 70000; allowed: 1..65535"}},
		{name: "production image missing", stack: "production", mon: map[string]any{"prometheusImage": nil},
			want: []string{"helloagents:monitoring.prometheusImage: missing; production deploys only the digest-pinned Prometheus image"}},
		{name: "production image not pinned", stack: "production", mon: map[string]any{"pgexporterImage": "ghcr.io/helloagents/pgexporter:latest"},
			want: []string{`helloagents:monitoring.pgexporterImage: invalid value "ghcr.io/helloagents/pgexporter:latest"; allowed: a digest-pinned image reference`}},
		{name: "image set in staging (it is built)", stack: "staging", mon: map[string]any{"prometheusImage": pinned},
			want: []string{`helloagents:monitoring.prometheusImage: invalid value "` + pinned[:60]}},
		{name: "unknown monitoring field", stack: "dev", mon: map[string]any{"scrapeIntervall": "15s"},
			want: []string{"helloagents:monitoring.scrapeIntervall: unknown field (did you mean `scrapeInterval`?)"}},
		{name: "slo of the wrong type", stack: "dev", slo: map[string]any{"availability": "99.9%"},
			want: []string{`helloagents:slo.availability: invalid value "99.9%"; allowed: a number`}},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			raw := stackRaw(t, tc.stack)
			if tc.slo != nil {
				withFields(t, raw, KeySLO, tc.slo)
			}
			if tc.mon != nil {
				withFields(t, raw, KeyMonitoring, tc.mon)
			}
			for key, fields := range tc.other {
				withFields(t, raw, key, fields)
			}
			for k, v := range tc.secrets {
				raw[FullKey(k)] = v
			}
			_, err := Parse(tc.stack, raw)
			if err == nil {
				t.Fatalf("accepted; want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, v := range tc.secrets {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error quotes the secret %q:\n%v", v, err)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tc.want) {
				t.Errorf("%d errors, want %d (no follow-on errors):\n%v", n, len(tc.want), err)
			}
		})
	}
}

// TestSLOValidationAgreesWithMonitoring: the config's field checks refuse
// exactly what package monitoring's SLO.Validate refuses.
func TestSLOValidationAgreesWithMonitoring(t *testing.T) {
	def := monitoring.DefaultSLO()
	var cases []SLO
	for _, a := range []float64{0, 0.9, 0.95, 0.99, 0.999, 0.99999, 0.999999, 1} {
		cases = append(cases, SLO{Availability: a, Period: "720h", ErrorRatio: def.ErrorRatio, LatencyP95: "500ms"})
	}
	for _, p := range []string{"59m", "1h", "1h0m30s", "168h", "720h", "2160h", "2161h", "1500ms"} {
		cases = append(cases, SLO{Availability: def.Availability, Period: p, ErrorRatio: def.ErrorRatio, LatencyP95: "500ms"})
	}
	for _, r := range []float64{-0.1, 0, 0.001, 0.5, 0.99, 1} {
		cases = append(cases, SLO{Availability: def.Availability, Period: "720h", ErrorRatio: r, LatencyP95: "500ms"})
	}
	for _, d := range latencyBuckets() {
		cases = append(cases, SLO{Availability: def.Availability, Period: "720h", ErrorRatio: def.ErrorRatio, LatencyP95: contract.FormatDuration(d)})
	}
	for _, l := range []string{"0s", "300ms", "499ms", "501ms", "10s"} {
		cases = append(cases, SLO{Availability: def.Availability, Period: "720h", ErrorRatio: def.ErrorRatio, LatencyP95: l})
	}
	for _, s := range cases {
		cfg := Defaults("dev", Dev)
		cfg.SLO = s
		var p problems
		cfg.validateSLOFields(&p)
		theirs := s.Value().Validate()
		if (len(p) == 0) != (theirs == nil) {
			t.Errorf("%+v: the config says %v, monitoring.SLO.Validate says %v", s, []error(p), theirs)
		}
	}
}

func TestMonitoringDefaults(t *testing.T) {
	for _, env := range []Environment{Dev, Staging, Production} {
		c := Defaults(string(env), env)
		if got := c.SLO.Value(); got != monitoring.DefaultSLO() {
			t.Errorf("%s: SLO %+v, want monitoring.DefaultSLO %+v", env, got, monitoring.DefaultSLO())
		}
		if c.SLO.Period != "720h" || c.SLO.LatencyP95 != "500ms" {
			t.Errorf("%s: SLO written as %q, %q; want 720h, 500ms", env, c.SLO.Period, c.SLO.LatencyP95)
		}
		if c.Monitoring.ScrapeIntervalDuration() != 15*time.Second || c.Monitoring.Retention != "15d" {
			t.Errorf("%s: monitoring defaults %+v", env, c.Monitoring)
		}
	}
	dev, err := Parse("dev", map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if got := dev.PrometheusURL(dev.Regions[0]); got != "http://127.0.0.1:9090" {
		t.Errorf("dev Prometheus %q", got)
	}
	if got := dev.AlertmanagerURL(dev.Regions[0]); got != "http://127.0.0.1:9093" {
		t.Errorf("dev Alertmanager %q", got)
	}
	for stack, want := range map[string][]string{
		"staging":    {"prometheus-staging-eu-west.helloagents.dev", "alertmanager-staging-eu-west.helloagents.dev"},
		"production": {"prometheus-eu-west.helloagents.dev", "alertmanager-eu-west.helloagents.dev"},
	} {
		c, err := Parse(stack, stackRaw(t, stack))
		if err != nil {
			t.Fatal(err)
		}
		got := []string{c.MonitoringHostname(MonitoringPrometheus, c.Regions[0]), c.MonitoringHostname(MonitoringAlertmanager, c.Regions[0])}
		if !slices.Equal(got, want) {
			t.Errorf("%s: monitoring hostnames %v, want %v", stack, got, want)
		}
	}
}
