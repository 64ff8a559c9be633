package monitoring

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// shortSLO is the default SLO over 72 hours: every window a tenth of the
// workbook's (5m becomes 30s), as a test of the real alert path uses it.
func shortSLO() SLO {
	s := DefaultSLO()
	s.Period = 72 * time.Hour
	return s
}

// ruleArgs are the platform's thresholds, which the scenarios below are
// written for: WAL 10m, standby 3m, backups degraded for 30m.
func ruleArgs(s SLO, scrape time.Duration) RuleArgs {
	a := DefaultRuleArgs(s, scrape)
	if a.WALArchiveMaxAge != 10*time.Minute || a.StandbyMaxLag != 3*time.Minute || a.BackupMaxAge != 30*time.Minute {
		panic("the scenarios assume WAL 10m, standby 3m, backups 30m")
	}
	return a
}

var ruleVariants = []struct {
	name string
	args RuleArgs
}{
	{"default 30d", ruleArgs(DefaultSLO(), 15*time.Second)},
	{"short 72h", ruleArgs(shortSLO(), 5*time.Second)},
}

func TestRulesCheck(t *testing.T) {
	for _, v := range ruleVariants {
		t.Run(v.name, func(t *testing.T) {
			out, err := Rules(v.args)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			got := run(t, dir, "promtool", "check", "rules", write(t, dir, "rules.yml", out))
			if !strings.Contains(got, "SUCCESS") {
				t.Errorf("promtool check rules: %s", got)
			}
		})
	}
}

func TestRulesInvalid(t *testing.T) {
	ok := ruleArgs(DefaultSLO(), 15*time.Second)
	for _, tc := range []struct {
		name string
		edit func(*RuleArgs)
		want []string
	}{
		{"scrape interval zero", func(a *RuleArgs) { a.ScrapeInterval = 0 }, []string{"scrape interval", "must be positive"}},
		{"windows shorter than 4 scrapes", func(a *RuleArgs) { a.SLO.Period = 24 * time.Hour; a.ScrapeInterval = 15 * time.Second },
			[]string{"slo.period 24h0m0s", "rate window of 10s", "4 scrape intervals of 15s"}},
		{"WAL age zero", func(a *RuleArgs) { a.WALArchiveMaxAge = 0 }, []string{"WAL archive max age", `"0s"`, "positive"}},
		{"standby lag sub-second", func(a *RuleArgs) { a.StandbyMaxLag = 1500 * time.Millisecond }, []string{"standby max lag", `"1.5s"`, "whole number of seconds"}},
		{"backup age negative", func(a *RuleArgs) { a.BackupMaxAge = -time.Minute }, []string{"backup max age", `"-1m0s"`}},
		{"invalid SLO", func(a *RuleArgs) { a.SLO.Availability = 2 }, []string{"slo.availability is 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ok
			tc.edit(&a)
			_, err := Rules(a)
			if err == nil {
				t.Fatal("Rules accepted invalid arguments")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestAlertNames: every alert the rules define is listed once, and every
// alert has the annotations and labels the team's standard asks for.
func TestAlertNames(t *testing.T) {
	want := []string{
		AlertBackupStale, AlertErrorBudgetBurnFast, AlertErrorBudgetBurnSlow, AlertErrorRatioHigh,
		AlertLatencyP95High, AlertPostgresDown, AlertReplicaRestarting, AlertStandbyLagHigh,
		AlertTargetDown, AlertWALArchiveStale,
	}
	a := ruleArgs(DefaultSLO(), 15*time.Second)
	if got := AlertNames(a); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("AlertNames = %v, want %v", got, want)
	}
	for _, g := range groups(a) {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			for _, k := range []string{"summary", "description", "runbook"} {
				if r.Annotations[k] == "" {
					t.Errorf("%s has no %s annotation", r.Alert, k)
				}
			}
			if s := r.Labels["severity"]; s != string(SeverityPage) && s != string(SeverityTicket) {
				t.Errorf("%s: severity %q", r.Alert, s)
			}
			if want := "docs/MONITORING.md#" + strings.ToLower(r.Alert); r.Annotations["runbook"] != want {
				t.Errorf("%s: runbook %q, want %q", r.Alert, r.Annotations["runbook"], want)
			}
		}
	}
}

// The promtool unit test file (promtool test rules).
type unitFile struct {
	RuleFiles          []string   `yaml:"rule_files"`
	EvaluationInterval string     `yaml:"evaluation_interval"`
	Tests              []unitTest `yaml:"tests"`
}

type unitTest struct {
	Name           string            `yaml:"name"`
	Interval       string            `yaml:"interval"`
	ExternalLabels map[string]string `yaml:"external_labels"`
	InputSeries    []inputSeries     `yaml:"input_series"`
	AlertRuleTests []alertRuleTest   `yaml:"alert_rule_test,omitempty"`
	PromQLTests    []promqlTest      `yaml:"promql_expr_test,omitempty"`
}

type inputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type alertRuleTest struct {
	EvalTime  string     `yaml:"eval_time"`
	Alertname string     `yaml:"alertname"`
	ExpAlerts []expAlert `yaml:"exp_alerts"`
}

type expAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations"`
}

type promqlTest struct {
	Expr       string      `yaml:"expr"`
	EvalTime   string      `yaml:"eval_time"`
	ExpSamples []expSample `yaml:"exp_samples"`
}

type expSample struct {
	Labels string  `yaml:"labels"`
	Value  float64 `yaml:"value"`
}

var testExternal = map[string]string{"stack": "test", "region": "eu-west"}

// firing is an alert expected at an evaluation: its labels besides
// alertname, and the text its $value renders to in the annotations.
type firing struct {
	labels map[string]string
	value  string
}

// check is one evaluation: at `at`, alert fires exactly `want` (none: it
// must not fire).
type check struct {
	at    time.Duration
	alert string
	want  []firing
}

// scenario is a set of synthetic series and the alerts they must and must
// not fire.
type scenario struct {
	name     string
	interval time.Duration
	series   []inputSeries
	checks   []check
	exprs    []promqlTest
}

// counter renders a counter's values: it starts at 0 and then rises by
// each segment's increment per interval for the segment's count of
// intervals, e.g. counter(seg{50, 60}, seg{0, 15}).
type seg struct {
	inc   float64
	count int
}

func counter(segs ...seg) string {
	vals := []string{"0"}
	cur := 0.0
	for _, s := range segs {
		if s.count == 0 {
			continue
		}
		vals = append(vals, fmt.Sprintf("%s+%sx%d", num(cur+s.inc), num(s.inc), s.count-1))
		cur += s.inc * float64(s.count)
	}
	return strings.Join(vals, " ")
}

const (
	replicaA = "10.0.1.2:9464"
	replicaB = "10.0.1.3:9464"
)

func requests(instance, class, values string) inputSeries {
	return inputSeries{
		Series: fmt.Sprintf(`helloagents_http_requests_total{job="backend",instance=%q,method="GET",route="GET /api/v1/courses",status_class=%q}`, instance, class),
		Values: values,
	}
}

// traffic is two replicas serving 1000 requests per interval each for n
// intervals, with errRatio of the region's requests answered 5xx, all on
// replica A (so a per-replica ratio would be twice the region's).
func traffic(errRatio float64, n int) []inputSeries {
	errs := 2000 * errRatio
	return []inputSeries{
		requests(replicaA, "2xx", counter(seg{1000 - errs, n})),
		requests(replicaA, "5xx", counter(seg{errs, n})),
		requests(replicaB, "2xx", counter(seg{1000, n})),
	}
}

func burn(s SLO, severity Severity, value string) []firing {
	var fs []firing
	for _, w := range s.Windows() {
		if w.Severity == severity {
			fs = append(fs, window(w, value))
		}
	}
	return fs
}

func window(w BurnWindow, value string) firing {
	return firing{
		labels: map[string]string{
			"severity": string(w.Severity), "slo": "availability",
			"long_window": PromDuration(w.Long), "short_window": PromDuration(w.Short),
		},
		value: value,
	}
}

func ticket(more ...string) map[string]string {
	l := map[string]string{"severity": string(SeverityTicket)}
	for i := 0; i+1 < len(more); i += 2 {
		l[more[i]] = more[i+1]
	}
	return l
}

// sloScenarios are the availability, error ratio and latency scenarios; the
// times are the workbook's, scaled like the SLO's windows.
func sloScenarios(a RuleArgs) []scenario {
	s := a.SLO
	iv := s.Scale(time.Minute)
	n := func(d time.Duration) int { return int(s.Scale(d) / iv) }
	ws := s.Windows()
	return []scenario{
		{
			name: "5% errors burn the budget fast", interval: iv,
			series: traffic(0.05, n(6*time.Hour)),
			checks: []check{
				{s.Scale(time.Hour), AlertErrorBudgetBurnFast, burn(s, SeverityPage, "5%")},
				{s.Scale(time.Hour), AlertErrorRatioHigh, []firing{{ticket("slo", "error-ratio"), "5%"}}},
			},
			exprs: []promqlTest{rounded(ErrorRatioRecord(ws[0].Short), s.Scale(time.Hour), 0.05)},
		},
		{
			name: "0.5% errors do not page but open a ticket", interval: iv,
			series: traffic(0.005, n(6*time.Hour)),
			checks: []check{
				{s.Scale(time.Hour), AlertErrorBudgetBurnFast, nil},
				{s.Scale(6 * time.Hour), AlertErrorBudgetBurnFast, nil},
				{s.Scale(6 * time.Hour), AlertErrorBudgetBurnSlow, burn(s, SeverityTicket, "0.5%")},
				{s.Scale(time.Hour), AlertErrorRatioHigh, nil},
			},
		},
		{
			name: "0.05% errors stay within the budget", interval: iv,
			series: traffic(0.0005, n(6*time.Hour)),
			checks: []check{
				{s.Scale(6 * time.Hour), AlertErrorBudgetBurnFast, nil},
				{s.Scale(6 * time.Hour), AlertErrorBudgetBurnSlow, nil},
			},
		},
		{
			// Errors stopped 15 minutes ago: the 5m window is clean, so the
			// 1h/5m page resolves although the hour still holds 3.75 %; the
			// 30m window still holds errors, so the 6h/30m page stays.
			name: "the short window resolves a page once errors stop", interval: iv,
			series: []inputSeries{
				requests(replicaA, "2xx", counter(seg{900, n(time.Hour)}, seg{1000, n(15 * time.Minute)})),
				requests(replicaA, "5xx", counter(seg{100, n(time.Hour)}, seg{0, n(15 * time.Minute)})),
				requests(replicaB, "2xx", counter(seg{1000, n(75 * time.Minute)})),
			},
			checks: []check{
				{s.Scale(75 * time.Minute), AlertErrorBudgetBurnFast, []firing{window(ws[1], "4%")}},
			},
		},
		{
			name: "no 5xx at all: the ratio is 0, nothing fires", interval: iv,
			series: []inputSeries{
				requests(replicaA, "2xx", counter(seg{1000, n(2 * time.Hour)})),
				requests(replicaB, "2xx", counter(seg{1000, n(2 * time.Hour)})),
			},
			checks: []check{
				{s.Scale(time.Hour), AlertErrorBudgetBurnFast, nil},
				{s.Scale(time.Hour), AlertErrorRatioHigh, nil},
			},
			exprs: []promqlTest{rounded(ErrorRatioRecord(ws[0].Long), s.Scale(time.Hour), 0)},
		},
		{
			name: "2% errors exceed the error-ratio objective", interval: iv,
			series: traffic(0.02, n(2*time.Hour)),
			checks: []check{
				{s.Scale(time.Hour), AlertErrorRatioHigh, []firing{{ticket("slo", "error-ratio"), "2%"}}},
			},
		},
		latencyScenario("P95 of 750ms is above 500ms", 0.10, []check{
			{20 * time.Minute, AlertLatencyP95High, []firing{{ticket("slo", "latency"), "750ms"}}},
			// pending, not yet firing: the P95 must stay high for 10m
			{8 * time.Minute, AlertLatencyP95High, nil},
		}, []promqlTest{rounded(LatencyP95Record, 20*time.Minute, 0.75)}),
		latencyScenario("P95 under 500ms", 0.02, []check{{20 * time.Minute, AlertLatencyP95High, nil}}, nil),
	}
}

// rounded expects the recorded series to be want at `at`, to 6 decimals
// (promtool compares floats exactly).
func rounded(series string, at time.Duration, want float64) promqlTest {
	return promqlTest{
		Expr: "round(" + series + ", 0.000001)", EvalTime: PromDuration(at),
		ExpSamples: []expSample{{Labels: "{}", Value: want}},
	}
}

// latencyScenario: 100 requests a minute, 80 of them under 250ms, slow of
// them over 500ms (and under 1s), the rest between.
func latencyScenario(name string, slow float64, checks []check, exprs []promqlTest) scenario {
	var series []inputSeries
	for _, b := range DurationBuckets() {
		per := 100.0
		switch {
		case b <= 0.25:
			per = 80
		case b <= 0.5:
			per = 100 - 100*slow
		}
		series = append(series, inputSeries{
			Series: fmt.Sprintf(`helloagents_http_request_duration_seconds_bucket{job="backend",instance=%q,method="GET",route="GET /api/v1/courses",le="%s"}`, replicaA, num(b)),
			Values: counter(seg{per, 30}),
		})
	}
	series = append(series, inputSeries{
		Series: fmt.Sprintf(`helloagents_http_request_duration_seconds_bucket{job="backend",instance=%q,method="GET",route="GET /api/v1/courses",le="+Inf"}`, replicaA),
		Values: counter(seg{100, 30}),
	})
	return scenario{name: name, interval: time.Minute, series: series, checks: checks, exprs: exprs}
}

func gauge(name, job, instance, values string, labels ...string) inputSeries {
	l := fmt.Sprintf("job=%q,instance=%q", job, instance)
	for i := 0; i+1 < len(labels); i += 2 {
		l += fmt.Sprintf(",%s=%q", labels[i], labels[i+1])
	}
	return inputSeries{Series: name + "{" + l + "}", Values: values}
}

// operationScenarios do not depend on the SLO: one-minute samples.
func operationScenarios() []scenario {
	const pg = "pgexporter:9187"
	pgLabels := ticket("job", "postgres", "instance", pg)
	pgPage := map[string]string{"severity": string(SeverityPage), "job": "postgres", "instance": pg}
	return []scenario{
		{
			name: "WAL archive 20 minutes old", interval: time.Minute,
			series: []inputSeries{gauge(walArchiveAge, "postgres", pg, "0+60x30")},
			checks: []check{{20 * time.Minute, AlertWALArchiveStale, []firing{{pgPage, "20m 0s"}}}},
		},
		{
			name: "WAL archived every minute", interval: time.Minute,
			series: []inputSeries{gauge(walArchiveAge, "postgres", pg, "0 30 60 0 30 60 0 30 60 0 30 60 0 30 60 0 30 60 0 30 60")},
			checks: []check{{20 * time.Minute, AlertWALArchiveStale, nil}},
		},
		{
			name: "standby 400s behind", interval: time.Minute,
			series: []inputSeries{gauge(standbyLag, "postgres", pg, "400x20")},
			checks: []check{
				{10 * time.Minute, AlertStandbyLagHigh, []firing{{pgLabels, "6m 40s"}}},
				{3 * time.Minute, AlertStandbyLagHigh, nil}, // pending for 5m
			},
		},
		{
			name: "standby 5s behind", interval: time.Minute,
			series: []inputSeries{gauge(standbyLag, "postgres", pg, "5x20")},
			checks: []check{{10 * time.Minute, AlertStandbyLagHigh, nil}},
		},
		{
			name: "backups degraded on one replica for 35 minutes", interval: time.Minute,
			series: []inputSeries{
				gauge(componentStatus, "backend", replicaA, "1x40", "component", "backups", "status", "degraded"),
				gauge(componentStatus, "backend", replicaB, "0x40", "component", "backups", "status", "degraded"),
				gauge(componentStatus, "backend", replicaB, "1x40", "component", "backups", "status", "healthy"),
			},
			checks: []check{
				{35 * time.Minute, AlertBackupStale, []firing{{ticket(), "1"}}},
				{20 * time.Minute, AlertBackupStale, nil}, // degraded for less than 30m
			},
		},
		{
			name: "backups degraded, then healthy again", interval: time.Minute,
			series: []inputSeries{
				gauge(componentStatus, "backend", replicaA, "1x10 0x30", "component", "backups", "status", "degraded"),
				gauge(componentStatus, "backend", replicaA, "0x10 1x30", "component", "backups", "status", "healthy"),
			},
			checks: []check{{35 * time.Minute, AlertBackupStale, nil}},
		},
		{
			name: "a replica restarted 3 times in 15 minutes", interval: time.Minute,
			series: []inputSeries{gauge("process_start_time_seconds", "backend", replicaA, "100x3 280x3 520x3 760x10")},
			checks: []check{{12 * time.Minute, AlertReplicaRestarting, []firing{{ticket("job", "backend", "instance", replicaA), "3"}}}},
		},
		{
			name: "a replica restarted twice in 15 minutes", interval: time.Minute,
			series: []inputSeries{gauge("process_start_time_seconds", "backend", replicaA, "100x3 280x3 520x15")},
			checks: []check{{12 * time.Minute, AlertReplicaRestarting, nil}},
		},
		{
			// A release replaces the replicas: new containers, new
			// addresses, new series; each started once.
			name: "a release replaces every replica", interval: time.Minute,
			series: []inputSeries{
				gauge("process_start_time_seconds", "backend", replicaA, "100x4 stale"),
				gauge("process_start_time_seconds", "backend", replicaB, "100x6 stale"),
				gauge("process_start_time_seconds", "backend", "10.0.1.4:9464", "_x3 340x15"),
				gauge("process_start_time_seconds", "backend", "10.0.1.5:9464", "_x5 400x15"),
			},
			checks: []check{{12 * time.Minute, AlertReplicaRestarting, nil}},
		},
		{
			name: "the proxy's exporter down for 8 minutes", interval: time.Minute,
			series: []inputSeries{
				gauge("up", "proxy", "proxy:8405", "1 1 0x8"),
				gauge("up", "backend", replicaA, "1x10"),
			},
			checks: []check{{10 * time.Minute, AlertTargetDown, []firing{{ticket("job", "proxy", "instance", "proxy:8405"), "0"}}}},
		},
		{
			name: "a target down for 3 minutes, then back", interval: time.Minute,
			series: []inputSeries{gauge("up", "proxy", "proxy:8405", "1 0 0 0 1x10")},
			checks: []check{{6 * time.Minute, AlertTargetDown, nil}},
		},
		{
			name: "Postgres unreachable for 10 minutes", interval: time.Minute,
			series: []inputSeries{gauge("pg_up", "postgres", pg, "0x10")},
			checks: []check{{10 * time.Minute, AlertPostgresDown, []firing{{pgLabels, "0"}}}},
		},
		{
			name: "Postgres up", interval: time.Minute,
			series: []inputSeries{gauge("pg_up", "postgres", pg, "1x10")},
			checks: []check{{10 * time.Minute, AlertPostgresDown, nil}},
		},
	}
}

var valueRef = regexp.MustCompile(`\{\{ \$value[^}]*\}\}`)

// expectedAnnotations renders the annotations of the rule of alert whose
// labels match, as Prometheus would for labels, the test's external labels
// and a value that renders to value.
func expectedAnnotations(t *testing.T, a RuleArgs, alert string, labels map[string]string, value string) map[string]string {
	t.Helper()
	for _, g := range groups(a) {
		for _, r := range g.Rules {
			if r.Alert != alert || !subset(r.Labels, labels) {
				continue
			}
			out := map[string]string{}
			for k, v := range r.Annotations {
				v = strings.NewReplacer(
					"{{ $externalLabels.stack }}", testExternal["stack"],
					"{{ $externalLabels.region }}", testExternal["region"],
					"{{ $labels.instance }}", labels["instance"],
					"{{ $labels.job }}", labels["job"],
				).Replace(v)
				v = valueRef.ReplaceAllLiteralString(v, value)
				if strings.Contains(v, "{{") {
					t.Fatalf("annotation %s of %s has a template the test does not render: %s", k, alert, v)
				}
				out[k] = v
			}
			return out
		}
	}
	t.Fatalf("no rule %s with labels %v", alert, labels)
	return nil
}

func subset(small, big map[string]string) bool {
	for k, v := range small {
		if big[k] != v {
			return false
		}
	}
	return true
}

// TestRulesUnit runs promtool's unit tests on the rendered rules: each
// scenario's synthetic series must fire exactly the alerts it expects (with
// their labels and rendered annotations) and no others of those names.
func TestRulesUnit(t *testing.T) {
	for i, v := range ruleVariants {
		rules, err := Rules(v.args)
		if err != nil {
			t.Fatal(err)
		}
		scenarios := sloScenarios(v.args)
		if i == 0 {
			scenarios = append(scenarios, operationScenarios()...)
		}
		for _, sc := range scenarios {
			t.Run(v.name+"/"+sc.name, func(t *testing.T) {
				dir := t.TempDir()
				write(t, dir, "rules.yml", rules)
				tests := write(t, dir, "tests.yml", unitTestFile(t, v.args, sc))
				run(t, dir, "promtool", "test", "rules", tests)
			})
		}
	}
}

// unitTestFile renders a scenario as a promtool unit test file of rules.yml.
func unitTestFile(t *testing.T, a RuleArgs, sc scenario) []byte {
	t.Helper()
	f := unitFile{RuleFiles: []string{"rules.yml"}, EvaluationInterval: PromDuration(sc.interval)}
	{
		u := unitTest{
			Name: sc.name, Interval: PromDuration(sc.interval), ExternalLabels: testExternal,
			InputSeries: sc.series, PromQLTests: sc.exprs,
		}
		for _, c := range sc.checks {
			at := alertRuleTest{EvalTime: PromDuration(c.at), Alertname: c.alert, ExpAlerts: []expAlert{}}
			for _, w := range c.want {
				at.ExpAlerts = append(at.ExpAlerts, expAlert{
					ExpLabels:      w.labels,
					ExpAnnotations: expectedAnnotations(t, a, c.alert, w.labels, w.value),
				})
			}
			u.AlertRuleTests = append(u.AlertRuleTests, at)
		}
		f.Tests = append(f.Tests, u)
	}
	out, err := marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWindows(t *testing.T) {
	h := time.Hour
	for _, tc := range []struct {
		name   string
		period time.Duration
		want   []BurnWindow
	}{
		{"30 days: the workbook's", 30 * 24 * h, []BurnWindow{
			{SeverityPage, h, 5 * time.Minute, 14.4, 2 * time.Minute},
			{SeverityPage, 6 * h, 30 * time.Minute, 6, 15 * time.Minute},
			{SeverityTicket, 24 * h, 2 * h, 3, h},
			{SeverityTicket, 72 * h, 6 * h, 1, 3 * h},
		}},
		{"72 hours: a tenth", 72 * h, []BurnWindow{
			{SeverityPage, 6 * time.Minute, 30 * time.Second, 14.4, 12 * time.Second},
			{SeverityPage, 36 * time.Minute, 3 * time.Minute, 6, 90 * time.Second},
			{SeverityTicket, 144 * time.Minute, 12 * time.Minute, 3, 6 * time.Minute},
			{SeverityTicket, 432 * time.Minute, 36 * time.Minute, 1, 18 * time.Minute},
		}},
		{"90 days: three times", 90 * 24 * h, []BurnWindow{
			{SeverityPage, 3 * h, 15 * time.Minute, 14.4, 6 * time.Minute},
			{SeverityPage, 18 * h, 90 * time.Minute, 6, 45 * time.Minute},
			{SeverityTicket, 72 * h, 6 * h, 3, 3 * h},
			{SeverityTicket, 216 * h, 18 * h, 1, 9 * h},
		}},
		{"1 hour: rounded to the second", h, []BurnWindow{
			{SeverityPage, 5 * time.Second, time.Second, 14.4, time.Second},
			{SeverityPage, 30 * time.Second, 3 * time.Second, 6, time.Second},
			{SeverityTicket, 2 * time.Minute, 10 * time.Second, 3, 5 * time.Second},
			{SeverityTicket, 6 * time.Minute, 30 * time.Second, 1, 15 * time.Second},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSLO()
			s.Period = tc.period
			got := s.Windows()
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("Windows() =\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
}

func TestSLOValidate(t *testing.T) {
	if err := DefaultSLO().Validate(); err != nil {
		t.Fatalf("DefaultSLO invalid: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*SLO)
		want []string
	}{
		{"zero value", func(s *SLO) { *s = SLO{} }, []string{
			"slo.availability is 0: must be between 0.95 and 0.99999",
			`slo.period is "0s": must be whole seconds between 1h0m0s and 2160h0m0s`,
			"slo.errorRatio is 0: must be above 0 and below 1",
			`slo.latencyP95 is "0s": must be one of the latency histogram's buckets 5ms, 10ms, 25ms, 50ms, 100ms, 250ms, 500ms, 1s, 2.5s, 5s`,
		}},
		{"availability as a percentage", func(s *SLO) { s.Availability = 99.9 }, []string{"slo.availability is 99.9", "a fraction"}},
		{"availability 100%", func(s *SLO) { s.Availability = 1 }, []string{"slo.availability is 1:"}},
		{"period too long", func(s *SLO) { s.Period = 365 * 24 * time.Hour }, []string{`slo.period is "8760h0m0s"`}},
		{"period not whole seconds", func(s *SLO) { s.Period = 2*time.Hour + time.Millisecond }, []string{`slo.period is "2h0m0.001s"`}},
		{"error ratio 1", func(s *SLO) { s.ErrorRatio = 1 }, []string{"slo.errorRatio is 1:"}},
		{"latency between buckets", func(s *SLO) { s.LatencyP95 = 300 * time.Millisecond }, []string{`slo.latencyP95 is "300ms"`, "500ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSLO()
			tc.edit(&s)
			err := s.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	for _, d := range []time.Duration{5 * time.Millisecond, 250 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second} {
		s := DefaultSLO()
		s.LatencyP95 = d
		if err := s.Validate(); err != nil {
			t.Errorf("latencyP95 %s (a bucket) refused: %v", d, err)
		}
	}
}
