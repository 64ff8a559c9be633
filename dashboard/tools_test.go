package dashboard

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/helloagents/infra/backend/proxy"
	"github.com/helloagents/infra/backend/testkit"
	"github.com/helloagents/infra/internal/prometheustest"
	"github.com/helloagents/infra/monitoring"
)

// tool finds a binary of a Debian package the tests run: missing, the
// test is skipped, or fails under CI.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	bin := testkit.RequireTool(t, name, "apt-get install "+pkg)
	return bin
}

// TestQueriesArePromQL has Prometheus's own parser (promtool check rules,
// Debian's prometheus 2.42, the version the region runs) read every query
// of the dashboard, with Grafana's variables replaced as Grafana does.
func TestQueriesArePromQL(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	d := decode(t, DefaultArgs())
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	exprs := queries(d)
	for _, key := range slices.Sorted(maps.Keys(exprs)) {
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:query_%d", len(rules)), Expr: grafanaVars.Replace(exprs[key])})
	}
	doc := map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboard.yml")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), promtool, "check", "rules", file).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, b)
	}
	if want := fmt.Sprintf("SUCCESS: %d rules found", len(rules)); !strings.Contains(string(out), want) {
		t.Errorf("promtool check rules: %s, want %q", out, want)
	}
}

// TestHAProxyExporterHasTheDashboardsSeries runs Debian's HAProxy 2.6 (the
// proxy image's) with the repository's haproxy.cfg and its built-in
// Prometheus exporter, and checks that every haproxy_ selector of the
// dashboard matches series it exports: the metric, and each equality
// matcher's label and value (proxy="replicas", code="5xx", state="UP").
func TestHAProxyExporterHasTheDashboardsSeries(t *testing.T) {
	haproxy := tool(t, "haproxy", "haproxy")
	metricsPort := freePort(t)
	extra := filepath.Join(t.TempDir(), "exporter.cfg")
	if err := os.WriteFile(extra, []byte(fmt.Sprintf(`frontend dashboard_test_exporter
    bind 127.0.0.1:%d
    http-request use-service prometheus-exporter if { path /metrics }
`, metricsPort)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := proxy.Defaults()
	env[proxy.EnvAddr], env[proxy.EnvPort] = "127.0.0.1", strconv.Itoa(freePort(t))
	env[proxy.EnvMonitorPort] = strconv.Itoa(freePort(t))
	env[proxy.EnvResolver] = "127.0.0.1:" + strconv.Itoa(freePort(t))
	env["PROXY_METRICS_PORT"] = strconv.Itoa(freePort(t)) // the exporter port, once haproxy.cfg reads it
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, haproxy, "-db", "-f", "../backend/proxy/haproxy.cfg", "-f", extra)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() { cancel(); _ = cmd.Wait() }
	t.Cleanup(stop)

	families, err := scrape(t.Context(), fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	if err != nil {
		stop() // the log is complete once haproxy has exited
		t.Fatalf("%v\nhaproxy's output:\n%s", err, log.String())
	}
	equality := regexp.MustCompile(`([a-z_]+)="([^"]*)"`)
	checked := 0
	for where, expr := range queries(decode(t, DefaultArgs())) {
		for _, s := range selector.FindAllStringSubmatch(expr, -1) {
			name := s[1]
			if !strings.HasPrefix(name, "haproxy_") {
				continue
			}
			checked++
			f, ok := families[name]
			if !ok {
				t.Errorf("%s: HAProxy exports no %s", where, name)
				continue
			}
			want := map[string]string{}
			for _, m := range equality.FindAllStringSubmatch(s[2], -1) {
				want[m[1]] = m[2]
			}
			if !slices.ContainsFunc(f.GetMetric(), func(m *dto.Metric) bool { return hasLabels(m, want) }) {
				t.Errorf("%s: no %s series with %v", where, name, want)
			}
		}
	}
	if checked == 0 {
		t.Error("the dashboard reads no haproxy_ series")
	}
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// scrape reads an exporter's metrics once it answers (HAProxy needs a
// moment to start); it gives up after a minute.
func scrape(ctx context.Context, url string) (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			p := expfmt.NewTextParser(model.UTF8Validation)
			families, err := p.TextToMetricFamilies(resp.Body)
			resp.Body.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", url, err)
			}
			return families, nil
		}
		last = err
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("%s did not answer: %w", url, last)
}

func freePort(t *testing.T) int {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestQueriesAnswerOnRealPrometheus loads the region's rule file
// (monitoring.Rules) into Debian's Prometheus scraping a stand-in for the
// backend whose error ratio and P95 are known, and runs every query of the
// SLO, burn-rate and route panels as Grafana does with every stack and
// region selected: each answers, and the SLO panels show the traffic's
// numbers. A one-day period scales every window to a thirtieth (the
// shortest is 10s), so the rules have data within seconds.
func TestQueriesAnswerOnRealPrometheus(t *testing.T) {
	a := DefaultArgs()
	a.SLO.Period = 24 * time.Hour
	rules, err := monitoring.Rules(monitoring.DefaultRuleArgs(a.SLO, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	backend := prometheustest.BackendMetrics(t)
	prom := prometheustest.Start(t, prometheustest.Config{Backend: backend.Listener.Addr().String(), Rules: rules})

	ratio, budget := prometheustest.ErrorRatio, 1-a.SLO.Availability
	want := map[string]float64{
		"Availability (1d)":         1 - ratio,
		"Error budget left (1d)":    1 - ratio/budget,
		"Error ratio (2m)":          ratio,
		"P95 latency (1h)":          prometheustest.P95,
		"Error ratio":               ratio,
		"P95 latency":               prometheustest.P95,
		"Burn rate, page windows":   ratio / budget,
		"Burn rate, ticket windows": ratio / budget,
	}
	// What Grafana substitutes: All stacks and regions, and a rate
	// interval of four scrapes.
	vars := strings.NewReplacer(`$__rate_interval`, "10s", `$stack`, ".*", `$region`, ".*")
	rows := map[string]bool{"Service level objectives": true, "Error budget burn rate": true, "Routes": true}
	type check struct{ where, query string }
	var checks []check
	row := ""
	for _, p := range decode(t, a).Panels {
		if p.Type == "row" {
			row = p.Title
			continue
		}
		for _, tg := range p.Targets {
			if rows[row] {
				checks = append(checks, check{p.Title + "/" + tg.RefID, vars.Replace(tg.Expr)})
			}
		}
	}
	if len(checks) < 15 {
		t.Fatalf("%d queries in the SLO, burn-rate and route panels", len(checks))
	}

	// Wait until every query answers: the rules need two scrapes, and each
	// group evaluates on its own schedule.
	answers := map[string]model.Vector{}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for len(answers) < len(checks) && ctx.Err() == nil {
		for _, c := range checks {
			if vec, err := prom.Query(ctx, c.query); err == nil && len(vec) > 0 {
				answers[c.where] = vec
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	for _, c := range checks {
		vec, ok := answers[c.where]
		if !ok {
			t.Errorf("%s: no series within a minute\n%s", c.where, c.query)
			continue
		}
		title, _, _ := strings.Cut(c.where, "/")
		w, ok := want[title]
		if !ok {
			continue
		}
		for _, s := range vec {
			if got := float64(s.Value); math.Abs(got-w) > 1e-9*math.Max(1, math.Abs(w)) {
				t.Errorf("%s = %v, want %v\n%s", c.where, got, w, c.query)
			}
		}
	}
}
