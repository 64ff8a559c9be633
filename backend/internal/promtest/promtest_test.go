package promtest

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const text = `# HELP up whether it is up
# TYPE up gauge
up 1
# TYPE requests_total counter
requests_total{route="/a",code="2xx"} 3
requests_total{code="5xx",route="/a"} 1
# TYPE lag_seconds gauge
lag_seconds{server="127.0.0.1:5432"} NaN
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.5"} 2
latency_seconds_bucket{le="+Inf"} 3
latency_seconds_sum 1.5
latency_seconds_count 3
other 7
`
	got, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want float64
	}{
		{Key("up"), 1},
		{Key("requests_total", "route", "/a", "code", "2xx"), 3},
		{Key("requests_total", "code", "5xx", "route", "/a"), 1},
		{Key("other"), 7},
	}
	for _, tt := range tests {
		if v, ok := got[tt.key]; !ok || v != tt.want {
			t.Errorf("%s = %v (present %v), want %v", tt.key, v, ok, tt.want)
		}
	}
	if v := got[Key("lag_seconds", "server", "127.0.0.1:5432")]; !math.IsNaN(v) {
		t.Errorf("NaN sample = %v", v)
	}
	if want := []string{"lag_seconds", "other", "requests_total", "up"}; !slices.Equal(got.Names(), want) {
		t.Errorf("Names() = %v, want %v (histograms left out)", got.Names(), want)
	}
	if _, err := Parse(strings.NewReader("not { metrics\n")); err == nil {
		t.Error("Parse accepted a malformed exposition")
	}
}
