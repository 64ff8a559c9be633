package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/monitoring"
)

// fakePrometheus answers /api/v1/query with canned bodies chosen by the
// query: the first key of answers the query contains. It records the
// requests' Cloudflare Access headers.
type fakePrometheus struct {
	answers map[string]cannedAnswer
	mu      sync.Mutex
	headers []http.Header
}

type cannedAnswer struct {
	code int
	body string
}

func (f *fakePrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.headers = append(f.headers, r.Header.Clone())
	f.mu.Unlock()
	if r.URL.Path != "/prom/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query().Get("query")
	for _, key := range []string{"[30d]", "[7d]", "histogram_quantile", "[1h]"} {
		a, ok := f.answers[key]
		if !ok || !strings.Contains(q, key) {
			continue
		}
		if a.code == http.StatusFound {
			http.Redirect(w, r, "https://team.cloudflareaccess.com/cdn-cgi/access/login/prom?redirect_url=%2F", a.code)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.code)
		_, _ = w.Write([]byte(a.body))
		return
	}
	http.Error(w, "no canned answer for "+q, http.StatusTeapot)
}

func vector(values ...string) cannedAnswer {
	var result []string
	for _, v := range values {
		result = append(result, `{"metric":{},"value":[1764000000.123,"`+v+`"]}`)
	}
	return cannedAnswer{200, `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(result, ",") + `]}}`}
}

func ptr(f float64) *float64 { return &f }

func TestRegionMetrics(t *testing.T) {
	def := monitoring.DefaultSLO()
	tests := []struct {
		name    string
		answers map[string]cannedAnswer
		want    Metrics
		err     string
	}{
		{"values", map[string]cannedAnswer{"[1h]": vector("0.0125"), "histogram_quantile": vector("0.243925"), "[30d]": vector("0.0002")},
			Metrics{ErrorRatio: ptr(0.0125), P95Seconds: ptr(0.243925), ErrorBudgetLeft: ptr(0.8)}, ""},
		{"budget overspent", map[string]cannedAnswer{"[1h]": vector("0"), "histogram_quantile": vector("0.1"), "[30d]": vector("0.003")},
			Metrics{ErrorRatio: ptr(0), P95Seconds: ptr(0.1), ErrorBudgetLeft: ptr(-2)}, ""},
		{"no requests: empty vectors", map[string]cannedAnswer{"[1h]": vector(), "histogram_quantile": vector(), "[30d]": vector()},
			Metrics{}, ""},
		{"no requests in the hour: NaN", map[string]cannedAnswer{"[1h]": vector("NaN"), "histogram_quantile": vector("NaN"), "[30d]": vector("0.0005")},
			Metrics{ErrorBudgetLeft: ptr(0.5)}, ""},
		{"scalar result", map[string]cannedAnswer{"[1h]": {200, `{"status":"success","data":{"resultType":"scalar","result":[1764000000,"0.5"]}}`},
			"histogram_quantile": vector("+Inf"), "[30d]": vector("0")},
			Metrics{ErrorRatio: ptr(0.5), ErrorBudgetLeft: ptr(1)}, ""},
		{"error status", map[string]cannedAnswer{"[1h]": {400, `{"status":"error","errorType":"bad_data","error":"1:2: parse error: unexpected end of input"}`}},
			Metrics{}, "HTTP 400: bad_data: 1:2: parse error: unexpected end of input"},
		{"overloaded", map[string]cannedAnswer{"[1h]": vector("0"), "histogram_quantile": {503, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`}},
			Metrics{}, "HTTP 503: timeout: query timed out"},
		{"not Prometheus", map[string]cannedAnswer{"[1h]": {200, `<html>hello</html>`}},
			Metrics{}, "HTTP 200, not the Prometheus API's JSON"},
		{"Access refuses", map[string]cannedAnswer{"[1h]": {403, `<html>Forbidden</html>`}},
			Metrics{}, "HTTP 403, not the Prometheus API's JSON (Cloudflare Access? set CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET"},
		{"Access login", map[string]cannedAnswer{"[1h]": {http.StatusFound, ""}},
			Metrics{}, "HTTP 302 redirect to https://team.cloudflareaccess.com (a Cloudflare Access login? set CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET"},
		{"several series", map[string]cannedAnswer{"[1h]": vector("0.1", "0.2")},
			Metrics{}, "2 series, want one"},
		{"matrix", map[string]cannedAnswer{"[1h]": {200, `{"status":"success","data":{"resultType":"matrix","result":[]}}`}},
			Metrics{}, `result type "matrix", want a vector`},
		{"value not a number", map[string]cannedAnswer{"[1h]": vector("fast")},
			Metrics{}, `sample value "fast"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&fakePrometheus{answers: tt.answers})
			t.Cleanup(srv.Close)
			base, _ := url.Parse(srv.URL + "/prom/")
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			got := regionMetrics(t.Context(), prometheus{base: base, client: client, timeout: 5 * time.Second}, def)
			if got.Prometheus != srv.URL+"/prom/" {
				t.Errorf("Prometheus %q, want %q", got.Prometheus, srv.URL+"/prom/")
			}
			if tt.err != "" {
				if !strings.Contains(got.Error, tt.err) || got.ErrorRatio != nil || got.P95Seconds != nil || got.ErrorBudgetLeft != nil {
					t.Fatalf("got %+v, want only the error %q", got, tt.err)
				}
				return
			}
			if got.Error != "" {
				t.Fatalf("error %q", got.Error)
			}
			for _, f := range []struct {
				name      string
				got, want *float64
			}{{"error ratio", got.ErrorRatio, tt.want.ErrorRatio}, {"p95", got.P95Seconds, tt.want.P95Seconds}, {"budget", got.ErrorBudgetLeft, tt.want.ErrorBudgetLeft}} {
				if (f.got == nil) != (f.want == nil) || (f.got != nil && math.Abs(*f.got-*f.want) > 1e-12) {
					t.Errorf("%s = %v, want %v", f.name, deref(f.got), deref(f.want))
				}
			}
		})
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// TestPrometheusUnreachable: a Prometheus that does not answer is a
// reason, with the URL but without its password.
func TestPrometheusUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	base, _ := url.Parse("http://ops:hunter2@" + addr)
	got := regionMetrics(t.Context(), prometheus{base: base, client: http.DefaultClient, timeout: 5 * time.Second}, monitoring.DefaultSLO())
	if !strings.Contains(got.Error, "connection refused") || !strings.Contains(got.Error, addr) ||
		strings.Contains(got.Error+got.Prometheus, "hunter2") || strings.Contains(got.Error, "query=") {
		t.Errorf("metrics %+v: want connection refused, naming the host, without the password or the query", got)
	}
}

// TestStatusMetrics runs status on a stack whose prometheusUrls output
// names eu-west's Prometheus and a stale us-east one that --prometheus
// overrides, and none for ap-south: the numbers in the table and the JSON, the Cloudflare Access token sent
// over https and never printed, and a region without metrics does not
// fail the command.
func TestStatusMetrics(t *testing.T) {
	const id, secret = "0123.access", "s3cr3t-access-token"
	eu := region(t, 200, report(health.Healthy, health.Healthy, ""))
	us := region(t, 200, report(health.Healthy, health.Healthy, ""))
	ap := region(t, 200, report(health.Healthy, health.Healthy, ""))
	euProm := &fakePrometheus{answers: map[string]cannedAnswer{"[1h]": vector("0.0125"), "histogram_quantile": vector("0.243925"), "[7d]": vector("0.001")}}
	euSrv := httptest.NewTLSServer(euProm)
	t.Cleanup(euSrv.Close)
	usProm := &fakePrometheus{answers: map[string]cannedAnswer{"[1h]": {http.StatusFound, ""}}}
	usSrv := httptest.NewServer(usProm) // http: the token is not sent
	t.Cleanup(usSrv.Close)
	d := deps{
		outputs: func(context.Context, string) (map[string]any, error) {
			return map[string]any{"backendImage": image, "healthUrls": map[string]any{
				"eu-west": eu.URL + "/health/ready", "us-east": us.URL + "/health/ready", "ap-south": ap.URL + "/health/ready"},
				"prometheusUrls": map[string]any{"eu-west": euSrv.URL + "/prom", "us-east": "http://127.0.0.1:1/stale"}}, nil
		},
		config: func(context.Context, string) (map[string]string, error) {
			return map[string]string{
				"helloagents:regions": `[{"name":"eu-west","dockerHost":"ssh://eu"},{"name":"us-east","dockerHost":"ssh://us"},{"name":"ap-south","dockerHost":"ssh://ap"}]`,
				"helloagents:slo":     `{"availability":0.99,"period":"168h"}`,
			}, nil
		},
		client: euSrv.Client(), // trusts the TLS test server; plain http works as well
		replicas: &fakeReplicas{byRegion: map[string][]Replica{
			"eu-west": {{Name: "b-0", State: "running", Health: "healthy"}},
			"us-east": {{Name: "b-0", State: "running", Health: "healthy"}},
		}},
	}
	env := func(k string) string {
		return map[string]string{envAccessClientID: id, envAccessClientSecret: secret}[k]
	}
	args := []string{"--stack", "production", "--prometheus", "us-east=" + usSrv.URL + "/prom/"}

	var out, errOut bytes.Buffer
	if code := run(t.Context(), args, env, d, &out, &errOut); code != 0 {
		t.Errorf("exit %d, want 0: metrics never fail the status\n%s%s", code, &out, &errOut)
	}
	for _, want := range []string{
		"ERRORS 1H  P95 1H  BUDGET LEFT",
		"1.25%      244ms   90.0%", // 1 - 0.001 / 0.01
		"metrics unavailable: prometheus " + usSrv.URL + "/prom/: HTTP 302 redirect to https://team.cloudflareaccess.com",
		"metrics unavailable: no Prometheus URL for this region (no prometheusUrls output for it; --prometheus ap-south=URL)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, &out)
		}
	}
	if h := euProm.headers; len(h) != 3 || h[0].Get("CF-Access-Client-Id") != id || h[0].Get("CF-Access-Client-Secret") != secret {
		t.Errorf("https Prometheus got %d requests, headers %v; want 3 with the service token", len(h), h)
	}
	if h := usProm.headers; len(h) != 1 || h[0].Get("CF-Access-Client-Secret") != "" || h[0].Get("CF-Access-Client-Id") != "" {
		t.Errorf("http Prometheus got headers %v; want one request without the token", h)
	}

	out.Reset()
	if code := run(t.Context(), append(args, "--json"), env, d, &out, &errOut); code != 0 {
		t.Errorf("--json: exit %d", code)
	}
	var st Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("--json: %v\n%s", err, &out)
	}
	m := map[string]Metrics{}
	for _, r := range st.Regions {
		m[r.Name] = r.Metrics
	}
	if e := m["eu-west"]; e.Error != "" || deref(e.ErrorRatio) != 0.0125 || deref(e.P95Seconds) != 0.243925 || math.Abs(*e.ErrorBudgetLeft-0.9) > 1e-12 {
		t.Errorf("eu-west metrics %+v", e)
	}
	if m["us-east"].Error == "" || m["ap-south"].Error == "" || m["ap-south"].Prometheus != "" {
		t.Errorf("us-east %+v, ap-south %+v: want their reasons", m["us-east"], m["ap-south"])
	}
	if strings.Contains(out.String()+errOut.String(), secret) {
		t.Error("the Access secret was printed")
	}
}

func TestMetricsUsage(t *testing.T) {
	d := deps{
		outputs: func(context.Context, string) (map[string]any, error) {
			return map[string]any{"healthUrls": map[string]any{"eu-west": "http://127.0.0.1:1/health/ready"}}, nil
		},
		config:   func(context.Context, string) (map[string]string, error) { return map[string]string{}, nil },
		client:   http.DefaultClient,
		replicas: &fakeReplicas{},
	}
	only := func(k, v string) func(string) string {
		return func(key string) string {
			if key == k {
				return v
			}
			return ""
		}
	}
	noEnv := func(string) string { return "" }
	for _, tt := range []struct {
		name   string
		args   []string
		getenv func(string) string
		stderr string
	}{
		{"no equals", []string{"--prometheus", "http://127.0.0.1:9090"}, noEnv, "is not REGION=URL"},
		{"not http", []string{"--prometheus", "eu-west=127.0.0.1:9090"}, noEnv, "is not an http(s) URL"},
		{"query", []string{"--prometheus", "eu-west=http://p/?x=1"}, noEnv, "is not an http(s) URL"},
		{"twice", []string{"--prometheus", "eu-west=http://a", "--prometheus", "eu-west=http://b"}, noEnv, "region eu-west given twice"},
		{"unknown region", []string{"--prometheus", "eu-wset=http://p"}, noEnv, `stack "production" has no region eu-wset (regions: eu-west)`},
		{"id without secret", nil, only(envAccessClientID, "x"), "set both CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET"},
		{"secret without id", nil, only(envAccessClientSecret, "x"), "set both CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), append([]string{"--stack", "production"}, tt.args...), tt.getenv, d, &out, &errOut)
			if code != 2 || !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, &errOut, tt.stderr)
			}
		})
	}
}

func TestSLOFromConfig(t *testing.T) {
	def := monitoring.DefaultSLO()
	for _, tt := range []struct {
		name string
		cfg  map[string]string
		want monitoring.SLO
		err  string
	}{
		{"absent", map[string]string{}, def, ""},
		{"partial", map[string]string{"helloagents:slo": `{"availability":0.995}`},
			monitoring.SLO{Availability: 0.995, Period: def.Period, ErrorRatio: def.ErrorRatio, LatencyP95: def.LatencyP95}, ""},
		{"full", map[string]string{"helloagents:slo": `{"availability":0.99,"period":"168h","errorRatio":0.05,"latencyP95":"250ms"}`},
			monitoring.SLO{Availability: 0.99, Period: 168 * time.Hour, ErrorRatio: 0.05, LatencyP95: 250 * time.Millisecond}, ""},
		{"bad period", map[string]string{"helloagents:slo": `{"period":"a month"}`}, def, "helloagents:slo.period"},
		{"invalid", map[string]string{"helloagents:slo": `{"availability":1.5}`}, def, "helloagents:slo"},
		{"not JSON", map[string]string{"helloagents:slo": `[secret]`}, def, "helloagents:slo"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sloFromConfig(tt.cfg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestMetricsColumns(t *testing.T) {
	for _, tt := range []struct {
		m                  Metrics
		ratio, p95, budget string
	}{
		{Metrics{ErrorRatio: ptr(0.0099009901), P95Seconds: ptr(0.243925), ErrorBudgetLeft: ptr(-8.90099)}, "0.99%", "244ms", "-890.1%"},
		{Metrics{ErrorRatio: ptr(0), P95Seconds: ptr(1.5), ErrorBudgetLeft: ptr(1)}, "0%", "1.5s", "100.0%"},
		{Metrics{}, "-", "-", "-"},
		{Metrics{Error: "connection refused"}, "?", "?", "?"},
	} {
		r, p, b := tt.m.columns()
		if r != tt.ratio || p != tt.p95 || b != tt.budget {
			t.Errorf("columns of %+v = %q %q %q, want %q %q %q", tt.m, r, p, b, tt.ratio, tt.p95, tt.budget)
		}
	}
}
