package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/helloagents/infra/monitoring"
)

// generated is the committed file; `go generate ./dashboard` writes it.
const generated = "helloagents.json"

func TestGeneratedFileIsCurrent(t *testing.T) {
	want, err := JSON(DefaultArgs())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(generated)
	if err != nil {
		t.Fatalf("%v; generate it with: go generate ./dashboard", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("dashboard/%s is not what the code builds; regenerate it with: go generate ./dashboard (and commit it)", generated)
	}
}

// The JSON as Grafana reads it: only what the tests look at.
type board struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Query      string `json:"query"`
	Datasource dsRef  `json:"datasource"`
	Multi      bool   `json:"multi"`
	IncludeAll bool   `json:"includeAll"`
	AllValue   string `json:"allValue"`
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID          int      `json:"id"`
	Type        string   `json:"type"`
	Title       string   `json:"title"`
	Datasource  *dsRef   `json:"datasource"`
	Targets     []target `json:"targets"`
	GridPos     struct{ H, W, X, Y int }
	FieldConfig struct {
		Defaults struct {
			Unit       string `json:"unit"`
			Thresholds struct {
				Steps []struct {
					Value *float64 `json:"value"`
					Color string   `json:"color"`
				} `json:"steps"`
			} `json:"thresholds"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
}

type target struct {
	RefID      string `json:"refId"`
	Expr       string `json:"expr"`
	Legend     string `json:"legendFormat"`
	Datasource dsRef  `json:"datasource"`
}

// objectives are the thresholds of the panel: every step's value but the
// base's.
func (p panel) objectives() []float64 {
	var v []float64
	for _, s := range p.FieldConfig.Defaults.Thresholds.Steps {
		if s.Value != nil {
			v = append(v, *s.Value)
		}
	}
	return v
}

func decode(t *testing.T, a Args) board {
	t.Helper()
	b, err := JSON(a)
	if err != nil {
		t.Fatal(err)
	}
	var d board
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the dashboard JSON does not decode: %v", err)
	}
	return d
}

func byTitle(t *testing.T, d board, title string) panel {
	t.Helper()
	for _, p := range d.Panels {
		if p.Title == title {
			return p
		}
	}
	t.Fatalf("no panel titled %q", title)
	return panel{}
}

// queries are every panel's PromQL, by "panel title/refId".
func queries(d board) map[string]string {
	q := map[string]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			q[p.Title+"/"+tg.RefID] = tg.Expr
		}
	}
	return q
}

const promDS = "${datasource}"

func TestVariables(t *testing.T) {
	d := decode(t, DefaultArgs())
	if d.UID != UID || d.Title != Title {
		t.Errorf("uid %q title %q", d.UID, d.Title)
	}
	vars := map[string]variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	if ds := vars["datasource"]; ds.Type != "datasource" || ds.Query != "prometheus" {
		t.Errorf("datasource variable %+v, want a Prometheus data source variable", ds)
	}
	for _, name := range []string{"stack", "region"} {
		v, ok := vars[name]
		if !ok {
			t.Errorf("no %s variable", name)
			continue
		}
		// All must match the series of a region's own Prometheus too, which
		// have no stack or region label (those are external labels).
		if v.Type != "query" || v.Datasource.UID != promDS || !v.Multi || !v.IncludeAll || v.AllValue != ".*" ||
			!strings.HasPrefix(v.Query, "label_values(") || !strings.HasSuffix(v.Query, ", "+name+")") {
			t.Errorf("%s variable %+v, want label_values of %s on ${datasource}, multi, All = .*", name, v, name)
		}
	}
}

// TestPanels checks what every panel needs to show data: a unique id, the
// datasource variable, queries with unique refIds, a place on the grid.
func TestPanels(t *testing.T) {
	d := decode(t, DefaultArgs())
	ids := map[int]string{}
	for _, p := range d.Panels {
		if other, dup := ids[p.ID]; dup || p.ID == 0 {
			t.Errorf("panel %q: id %d (also %q)", p.Title, p.ID, other)
		}
		ids[p.ID] = p.Title
		if p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: grid position %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != promDS || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %v, %d queries; want ${datasource} and queries", p.Title, p.Datasource, len(p.Targets))
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if refs[tg.RefID] || tg.RefID == "" || tg.Datasource.UID != promDS || tg.Expr == "" {
				t.Errorf("panel %q: query %+v", p.Title, tg)
			}
			refs[tg.RefID] = true
		}
	}
}

// knownMetrics are the series the backend and the Postgres exporter
// export (DESIGN-20; backend/metrics; the pgexporter image's queries).
// The haproxy_ names are checked against the real HAProxy exporter by
// TestHAProxyExporterHasTheDashboardsSeries.
var knownMetrics = []string{
	"helloagents_http_requests_total",
	"helloagents_http_request_duration_seconds_bucket",
	"helloagents_http_requests_in_flight",
	"helloagents_build_info",
	"helloagents_health_component_status",
	"helloagents_db_pool_acquired_conns",
	"helloagents_db_pool_idle_conns",
	"helloagents_db_pool_total_conns",
	"helloagents_db_pool_max_conns",
	"helloagents_db_pool_acquires_total",
	"helloagents_db_pool_acquire_duration_seconds_total",
	"helloagents_db_pool_empty_acquires_total",
	"helloagents_db_pool_canceled_acquires_total",
	"helloagents_pg_standby_replay_lag_seconds",
	"helloagents_pg_wal_archive_age_seconds",
}

var (
	// selector is a metric name with its label matchers.
	selector = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}`)
	// metricName is any of our series' names, with the character after it.
	metricName = regexp.MustCompile(`\b((?:helloagents[_:]|haproxy_)[a-zA-Z0-9_:]*)(.?)`)
)

// recorded are the series the region's rule file (package monitoring)
// records from the same objectives.
func recorded(t *testing.T, a Args) []string {
	t.Helper()
	rules, err := monitoring.Rules(monitoring.DefaultRuleArgs(a.SLO, 15*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []struct {
				Record string `yaml:"record"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(rules, &file); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				names = append(names, r.Record)
			}
		}
	}
	return names
}

// TestQueriesReadKnownSeries: every query reads series that exist (that
// an exporter exports or the rules record), each filtered on the stack
// and region variables.
func TestQueriesReadKnownSeries(t *testing.T) {
	d := decode(t, DefaultArgs())
	records := recorded(t, DefaultArgs())
	used := map[string]bool{}
	known := func(where, name string) {
		used[name] = true
		if !strings.HasPrefix(name, "haproxy_") && !slices.Contains(knownMetrics, name) && !slices.Contains(records, name) {
			t.Errorf("%s: reads %s, which nothing exports or records", where, name)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			for _, m := range metricName.FindAllStringSubmatch(v.Query, -1) {
				known("variable "+v.Name, m[1])
			}
		}
	}
	for where, expr := range queries(d) {
		for _, m := range metricName.FindAllStringSubmatch(expr, -1) {
			if m[2] != "{" {
				t.Errorf("%s: %s has no label matchers (want the stack and region filters):\n%s", where, m[1], expr)
			}
		}
		sels := selector.FindAllStringSubmatch(expr, -1)
		if len(sels) == 0 {
			t.Errorf("%s: no selector in %q", where, expr)
		}
		for _, s := range sels {
			name, matchers := s[1], s[2]
			known(where, name)
			if !strings.Contains(matchers, `stack=~"$stack"`) || !strings.Contains(matchers, `region=~"$region"`) {
				t.Errorf("%s: %s is not filtered on $stack and $region: {%s}", where, name, matchers)
			}
		}
	}
	// What the issue asks the dashboard to show.
	for _, m := range []string{
		"helloagents_http_requests_total", "helloagents_http_request_duration_seconds_bucket",
		"haproxy_server_http_responses_total", "helloagents_db_pool_acquired_conns",
		"helloagents_pg_standby_replay_lag_seconds", "helloagents_pg_wal_archive_age_seconds",
		"helloagents_health_component_status",
		"helloagents:http_requests:error_ratio_rate30d", "helloagents:slo:error_budget_remaining",
		"helloagents:http_requests:error_ratio_rate3d", "helloagents:http_request_duration_seconds:p95_rate5m",
	} {
		if !used[m] {
			t.Errorf("no panel reads %s", m)
		}
	}
}

// TestObjectives: the thresholds are the SLO's, and they are the
// platform's promise (99.9 % over 30 days, error ratio 1 %, P95 500 ms).
func TestObjectives(t *testing.T) {
	custom := DefaultArgs()
	custom.SLO = monitoring.SLO{Availability: 0.99, Period: 7 * 24 * time.Hour, ErrorRatio: 0.05, LatencyP95: 250 * time.Millisecond}
	custom.StandbyMaxLag, custom.WALArchiveMaxAge = time.Minute, 5*time.Minute
	tests := []struct {
		name string
		args Args
		// want maps a panel title to its thresholds.
		want map[string][]float64
		// exprs maps a panel title to text its first query contains.
		exprs map[string]string
	}{
		{"defaults", DefaultArgs(), map[string][]float64{
			"Availability (30d)":        {0.999},
			"Error budget left (30d)":   {0, 0.25},
			"Error ratio (1h)":          {0.01},
			"Error ratio":               {0.01},
			"P95 latency (1h)":          {0.5},
			"P95 latency":               {0.5},
			"P95 latency by route":      {0.5},
			"Burn rate, page windows":   {6, 14.4},
			"Burn rate, ticket windows": {1, 3},
			"Standby replay lag":        {180},
			"WAL archive age":           {600},
		}, map[string]string{
			"Availability (30d)":      "1 - helloagents:http_requests:error_ratio_rate30d{",
			"Error budget left (30d)": "helloagents:slo:error_budget_remaining{",
			"Error ratio (1h)":        "helloagents:http_requests:error_ratio_rate1h{",
			"P95 latency (1h)":        "histogram_quantile(0.95, sum by (le) (rate(helloagents_http_request_duration_seconds_bucket{",
		}},
		{"custom", custom, map[string][]float64{
			"Availability (7d)":  {0.99},
			"Error ratio (14m)":  {0.05},
			"P95 latency (1h)":   {0.25},
			"Standby replay lag": {60},
			"WAL archive age":    {300},
		}, map[string]string{
			"Availability (7d)":       "1 - helloagents:http_requests:error_ratio_rate7d{",
			"Burn rate, page windows": "} / 0.01",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decode(t, tt.args)
			for title, want := range tt.want {
				if got := byTitle(t, d, title).objectives(); !slices.Equal(got, want) {
					t.Errorf("%q thresholds %v, want %v", title, got, want)
				}
			}
			for title, want := range tt.exprs {
				if p := byTitle(t, d, title); len(p.Targets) == 0 || !strings.Contains(p.Targets[0].Expr, want) {
					t.Errorf("%q query %+v lacks %q", title, p.Targets, want)
				}
			}
		})
	}
	def := monitoring.DefaultSLO()
	if def.Availability != 0.999 || def.Period != 30*24*time.Hour || def.ErrorRatio != 0.01 || def.LatencyP95 != 500*time.Millisecond {
		t.Errorf("monitoring.DefaultSLO() = %+v, not the platform's promise", def)
	}
}

// TestBurnWindows: one series per window of the SRE workbook's pairs.
func TestBurnWindows(t *testing.T) {
	d := decode(t, DefaultArgs())
	for title, windows := range map[string][]string{
		"Burn rate, page windows":   {"1h", "5m", "6h", "30m"},
		"Burn rate, ticket windows": {"1d", "2h", "3d", "6h"},
	} {
		p := byTitle(t, d, title)
		var got []string
		for _, tg := range p.Targets {
			w, _, _ := strings.Cut(tg.Legend, " ")
			got = append(got, w)
			if want := "helloagents:http_requests:error_ratio_rate" + w + "{"; !strings.HasPrefix(tg.Expr, want) || !strings.HasSuffix(tg.Expr, "} / 0.001") {
				t.Errorf("%s: the %s series reads %q, want %s... / 0.001", title, w, tg.Expr, want)
			}
		}
		if !slices.Equal(got, windows) {
			t.Errorf("%s: windows %v, want %v", title, got, windows)
		}
	}
}

func TestInvalidSLO(t *testing.T) {
	if _, err := JSON(Args{}); err == nil {
		t.Error("a zero SLO built a dashboard; want the SLO's validation error")
	}
}

// grafanaVars are what Grafana puts in the queries' place of its
// variables when the dashboard shows every stack and region.
var grafanaVars = strings.NewReplacer(`$__rate_interval`, "1m", `$stack`, ".*", `$region`, ".*")

func ExampleJSON() {
	b, err := JSON(DefaultArgs())
	if err != nil {
		panic(err)
	}
	var d board
	_ = json.Unmarshal(b, &d)
	fmt.Println(grafanaVars.Replace(byTitleOrEmpty(d, "Error ratio (1h)")))
	// Output:
	// helloagents:http_requests:error_ratio_rate1h{stack=~".*",region=~".*"}
}

func byTitleOrEmpty(d board, title string) string {
	for _, p := range d.Panels {
		if p.Title == title && len(p.Targets) > 0 {
			return p.Targets[0].Expr
		}
	}
	return ""
}
