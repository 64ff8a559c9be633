package monitoring

import (
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	amimage "github.com/helloagents/infra/backend/alertmanager"
	promimage "github.com/helloagents/infra/backend/prometheus"
	proxyimage "github.com/helloagents/infra/backend/proxy"
)

const (
	testPassword = "s3cr3t-rw-pass"
	slackURL     = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
	genericURL   = "https://alerts.example.com/hook/XXXXSECRET"
	smtpPassword = "smtp-s3cr3t"
)

func testSMTP() *SMTP {
	return &SMTP{Smarthost: "smtp.example.com:587", From: "alerts@example.com", Username: "alerts", Password: smtpPassword}
}

// TestPrometheusConfigCheck: promtool check config accepts every variant,
// with the rendered rules at the path the configuration names.
func TestPrometheusConfigCheck(t *testing.T) {
	rules, err := Rules(ruleArgs(DefaultSLO(), 15*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args PrometheusArgs
		want []string
	}{
		{"minimal", PrometheusArgs{Stack: "dev", Region: "local", ScrapeInterval: 15 * time.Second},
			[]string{"scrape_interval: 15s", "scrape_timeout: 10s", "evaluation_interval: 15s", "stack: dev", "region: local",
				"- alertmanager:9093", "- proxy:8405", "- pgexporter:9187", "- localhost:9090",
				"type: A", "port: 9464", "- backend"}},
		{"short interval", PrometheusArgs{Stack: "test", Region: "eu-west", ScrapeInterval: 5 * time.Second},
			[]string{"scrape_interval: 5s", "scrape_timeout: 5s", "refresh_interval: 5s"}},
		{"remote write", PrometheusArgs{Stack: "production", Region: "eu-west", ScrapeInterval: 30 * time.Second,
			RemoteWrite: &RemoteWrite{URL: "https://metrics.example.com/api/v1/write", Username: "team", Password: testPassword}},
			[]string{"url: https://metrics.example.com/api/v1/write", "username: team", "password: " + testPassword}},
		{"remote write without auth", PrometheusArgs{Stack: "staging", Region: "eu-west", ScrapeInterval: 15 * time.Second,
			RemoteWrite: &RemoteWrite{URL: "http://mimir:9009/api/v1/push"}},
			[]string{"url: http://mimir:9009/api/v1/push"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.args.RuleFiles = []string{write(t, dir, "rules.yml", rules)}
			out, err := PrometheusConfig(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("prometheus.yml lacks %q:\n%s", w, out)
				}
			}
			if tc.args.RemoteWrite == nil && strings.Contains(string(out), "remote_write") {
				t.Errorf("remote_write without RemoteWrite:\n%s", out)
			}
			got := run(t, dir, "promtool", "check", "config", write(t, dir, "prometheus.yml", out))
			if !strings.Contains(got, "SUCCESS: 1 rule files found") {
				t.Errorf("promtool did not check the rule file: %s", got)
			}
		})
	}
}

// TestPrometheusConfigJobs: the jobs the rules and dashboards select on.
func TestPrometheusConfigJobs(t *testing.T) {
	out, err := PrometheusConfig(PrometheusArgs{Stack: "dev", Region: "local", ScrapeInterval: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var c promConfig
	if err := yaml.Unmarshal(out, &c); err != nil {
		t.Fatal(err)
	}
	var jobs []string
	for _, s := range c.ScrapeConfigs {
		jobs = append(jobs, s.JobName)
	}
	if got, want := strings.Join(jobs, ","), "backend,proxy,postgres,prometheus,alertmanager"; got != want {
		t.Errorf("jobs %s, want %s", got, want)
	}
	if got := c.RuleFiles; len(got) != 1 || got[0] != RulesPath {
		t.Errorf("rule_files %v, want [%s]", got, RulesPath)
	}
	if ConfigPath != promimage.ConfigPath || RulesPath != promimage.RulesPath || AlertmanagerConfigPath != amimage.ConfigPath {
		t.Errorf("paths %s, %s, %s; the images' entrypoints write %s, %s, %s", ConfigPath, RulesPath, AlertmanagerConfigPath,
			promimage.ConfigPath, promimage.RulesPath, amimage.ConfigPath)
	}
	sd := c.ScrapeConfigs[0].DNSSDConfigs
	if len(sd) != 1 || sd[0].Type != "A" || sd[0].Port != 9464 || !slices.Equal(sd[0].Names, []string{"backend", proxyimage.CanaryHost}) {
		t.Errorf("backend discovery %+v, want type A of [backend %s] on port 9464", sd, proxyimage.CanaryHost)
	}
}

func TestPrometheusConfigInvalid(t *testing.T) {
	ok := PrometheusArgs{Stack: "dev", Region: "local", ScrapeInterval: 15 * time.Second}
	for _, tc := range []struct {
		name string
		edit func(*PrometheusArgs)
		want string
	}{
		{"no stack", func(a *PrometheusArgs) { a.Stack = "" }, "stack is empty"},
		{"no region", func(a *PrometheusArgs) { a.Region = "" }, "region is empty"},
		{"no interval", func(a *PrometheusArgs) { a.ScrapeInterval = 0 }, `scrape interval is "0s"`},
		{"sub-second interval", func(a *PrometheusArgs) { a.ScrapeInterval = 1500 * time.Millisecond }, "whole number of seconds"},
		{"remote write not a URL", func(a *PrometheusArgs) {
			a.RemoteWrite = &RemoteWrite{URL: "metrics.example.com/" + testPassword}
		}, "remote write URL is not an absolute http(s) URL"},
		{"remote write password without user", func(a *PrometheusArgs) {
			a.RemoteWrite = &RemoteWrite{URL: "https://m.example.com/w", Password: testPassword}
		}, "both a username and a password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ok
			tc.edit(&a)
			_, err := PrometheusConfig(a)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error reveals the password: %v", err)
			}
		})
	}
}

// TestAlertmanagerConfig: amtool check-config accepts every variant, and
// each destination lands in the receiver Alertmanager 0.25 has for it.
func TestAlertmanagerConfig(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     AlertmanagerArgs
		receiver string
		slack    int
		webhook  int
		email    int
	}{
		{"nothing configured: null receiver", AlertmanagerArgs{Stack: "dev", Region: "local"}, NullReceiver, 0, 0, 0},
		{"Slack webhook", AlertmanagerArgs{Stack: "staging", Region: "eu-west", WebhookURL: slackURL}, TeamReceiver, 1, 0, 0},
		{"generic webhook", AlertmanagerArgs{Stack: "staging", Region: "eu-west", WebhookURL: genericURL}, TeamReceiver, 0, 1, 0},
		{"Slack-looking host that is not Slack", AlertmanagerArgs{Stack: "staging", Region: "eu-west",
			WebhookURL: "https://hooks.slack.com.example.net/services/x"}, TeamReceiver, 0, 1, 0},
		{"e-mails", AlertmanagerArgs{Stack: "production", Region: "us-east",
			Emails: []string{"oncall@example.com", "ops@example.com"}, SMTP: testSMTP()}, TeamReceiver, 0, 0, 2},
		{"SMTP without e-mails sends nothing", AlertmanagerArgs{Stack: "production", Region: "us-east", SMTP: testSMTP()}, NullReceiver, 0, 0, 0},
		{"everything", AlertmanagerArgs{Stack: "production", Region: "eu-west", WebhookURL: slackURL,
			Emails: []string{"oncall@example.com"}, SMTP: testSMTP()}, TeamReceiver, 1, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := AlertmanagerConfig(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			run(t, dir, "amtool", "check-config", write(t, dir, "alertmanager.yml", out))

			var c amConfig
			if err := yaml.Unmarshal(out, &c); err != nil {
				t.Fatal(err)
			}
			if c.Route.Receiver != tc.receiver || len(c.Receivers) != 1 || c.Receivers[0].Name != tc.receiver {
				t.Fatalf("route to %q, receivers %+v; want only %q", c.Route.Receiver, c.Receivers, tc.receiver)
			}
			r := c.Receivers[0]
			if len(r.SlackConfigs) != tc.slack || len(r.WebhookConfigs) != tc.webhook || len(r.EmailConfigs) != tc.email {
				t.Errorf("slack %d, webhook %d, email %d configs; want %d, %d, %d",
					len(r.SlackConfigs), len(r.WebhookConfigs), len(r.EmailConfigs), tc.slack, tc.webhook, tc.email)
			}
			for _, s := range r.SlackConfigs {
				if !s.SendResolved || s.APIURL != tc.args.WebhookURL {
					t.Errorf("slack config %+v", s)
				}
			}
			for _, w := range r.WebhookConfigs {
				if !w.SendResolved || w.URL != tc.args.WebhookURL {
					t.Errorf("webhook config %+v", w)
				}
			}
			for i, e := range r.EmailConfigs {
				if !e.SendResolved || e.To != tc.args.Emails[i] {
					t.Errorf("email config %+v", e)
				}
			}
			if tc.email > 0 && (c.Global == nil || c.Global.SMTPSmarthost != "smtp.example.com:587" || c.Global.SMTPAuthPassword != smtpPassword || !c.Global.SMTPRequireTLS) {
				t.Errorf("global SMTP %+v", c.Global)
			}
			if got := strings.Join(c.Route.GroupBy, ","); got != "stack,region,alertname" {
				t.Errorf("group_by %s", got)
			}
			if len(c.Route.Routes) != 1 || c.Route.Routes[0].Matchers[0] != `severity="page"` ||
				c.Route.Routes[0].RepeatInterval != "1h" || c.Route.RepeatInterval != "1d" {
				t.Errorf("page route %+v, root repeat %s: want pages repeated every 1h, tickets every 1d", c.Route.Routes, c.Route.RepeatInterval)
			}
		})
	}
}

// TestAlertmanagerTiming: unset durations are Alertmanager's pacing (pages
// sooner), set ones replace them; amtool accepts both.
func TestAlertmanagerTiming(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		timing                    Timing
		wait, pageWait, groupIntv string
	}{
		{"defaults", Timing{}, "30s", "10s", "5m"},
		{"shortened for a test", Timing{GroupWait: time.Second, PageGroupWait: time.Second, GroupInterval: 5 * time.Second}, "1s", "1s", "5s"},
		{"only the interval", Timing{GroupInterval: time.Minute}, "30s", "10s", "1m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := AlertmanagerConfig(AlertmanagerArgs{Stack: "e2e", Region: "local", WebhookURL: genericURL, Timing: tc.timing})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			run(t, dir, "amtool", "check-config", write(t, dir, "alertmanager.yml", out))
			var c amConfig
			if err := yaml.Unmarshal(out, &c); err != nil {
				t.Fatal(err)
			}
			if c.Route.GroupWait != tc.wait || c.Route.GroupInterval != tc.groupIntv || len(c.Route.Routes) != 1 || c.Route.Routes[0].GroupWait != tc.pageWait {
				t.Errorf("group_wait %s, group_interval %s, routes %+v; want %s, %s, page group_wait %s",
					c.Route.GroupWait, c.Route.GroupInterval, c.Route.Routes, tc.wait, tc.groupIntv, tc.pageWait)
			}
		})
	}
}

// TestAlertmanagerRouting: amtool's routing test on the rendered file sends
// a page and a ticket to the configured receiver.
func TestAlertmanagerRouting(t *testing.T) {
	out, err := AlertmanagerConfig(AlertmanagerArgs{Stack: "production", Region: "eu-west", WebhookURL: genericURL})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := write(t, dir, "alertmanager.yml", out)
	for _, sev := range []Severity{SeverityPage, SeverityTicket} {
		got := run(t, dir, "amtool", "config", "routes", "test", "--config.file="+cfg, "--verify.receivers="+TeamReceiver,
			"alertname="+AlertErrorBudgetBurnFast, "severity="+string(sev), "region=eu-west")
		// amtool prints a warning about --alertmanager.url first.
		lines := strings.Split(strings.TrimSpace(got), "\n")
		if lines[len(lines)-1] != TeamReceiver {
			t.Errorf("%s routed to %q", sev, got)
		}
	}
}

func TestAlertmanagerConfigInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		args AlertmanagerArgs
		want string
	}{
		{"e-mails without SMTP", AlertmanagerArgs{Stack: "s", Region: "r", Emails: []string{"oncall@example.com"}},
			"alert e-mails oncall@example.com are configured but no SMTP server"},
		{"bad e-mail", AlertmanagerArgs{Stack: "s", Region: "r", Emails: []string{"Oncall <oncall@example.com>"}, SMTP: testSMTP()},
			"not a plain address"},
		{"webhook not a URL", AlertmanagerArgs{Stack: "s", Region: "r", WebhookURL: "hooks.slack.com/services/XXXXSECRET"},
			"alert webhook URL is not an absolute http(s) URL"},
		{"smarthost without port", AlertmanagerArgs{Stack: "s", Region: "r", Emails: []string{"a@example.com"},
			SMTP: &SMTP{Smarthost: "smtp.example.com", From: "alerts@example.com", Username: "u", Password: smtpPassword}},
			`SMTP smarthost "smtp.example.com" is not host:port`},
		{"SMTP password without user", AlertmanagerArgs{Stack: "s", Region: "r", Emails: []string{"a@example.com"},
			SMTP: &SMTP{Smarthost: "smtp.example.com:587", From: "alerts@example.com", Password: smtpPassword}},
			"SMTP needs both a username and a password"},
		{"no region", AlertmanagerArgs{Stack: "s"}, "region is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := AlertmanagerConfig(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			for _, secret := range []string{"XXXXSECRET", smtpPassword} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error reveals a secret: %v", err)
				}
			}
		})
	}
}
