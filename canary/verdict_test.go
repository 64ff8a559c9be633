package canary

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func f(x float64) *float64 { return &x }

var limits = Limits{
	MinRequests:          200,
	ErrorRatio:           0.01,
	LatencyP95:           500 * time.Millisecond,
	ErrorRatioOverStable: 0.005,
	LatencyP95OverStable: 1.5,
	LatencyP95Floor:      100 * time.Millisecond,
}

func TestDecide(t *testing.T) {
	stable := Figures{Requests: 5000, ErrorRatio: f(0.001), P95Seconds: f(0.2)}
	tests := []struct {
		name           string
		canary, stable Figures
		want           Outcome
		reasons        []string
	}{
		{"within every limit", Figures{Requests: 300, ErrorRatio: f(0.002), P95Seconds: f(0.25)}, stable, Passed, nil},
		{"too little traffic", Figures{Requests: 120, ErrorRatio: f(0.5), P95Seconds: f(9)}, stable, TooLittleTraffic,
			[]string{"120 requests, fewer than the 200 needed to judge"}},
		{"no traffic at all", Figures{}, Figures{}, TooLittleTraffic, []string{"0 requests, fewer than the 200 needed to judge"}},
		{"exactly MinRequests is judged", Figures{Requests: 200, ErrorRatio: f(0), P95Seconds: f(0.1)}, stable, Passed, nil},
		{"error ratio above the limit and stable's", Figures{Requests: 1000, ErrorRatio: f(0.0512), P95Seconds: f(0.2)},
			Figures{Requests: 5000, ErrorRatio: f(0.001), P95Seconds: f(0.2)}, Failed, []string{
				"error ratio 5.12 % is above the limit 1 %",
				"error ratio 5.12 % is 5.02 points above the stable replicas' 0.10 % (allowed 0.5)",
			}},
		{"error ratio exactly at the limit", Figures{Requests: 1000, ErrorRatio: f(0.01), P95Seconds: f(0.2)},
			Figures{Requests: 5000, ErrorRatio: f(0.005), P95Seconds: f(0.2)}, Passed, nil},
		{"error ratio over stable exactly at the allowance", Figures{Requests: 1000, ErrorRatio: f(0.015), P95Seconds: f(0.2)},
			Figures{Requests: 5000, ErrorRatio: f(0.01), P95Seconds: f(0.2)}, Failed, []string{
				"error ratio 1.50 % is above the limit 1 %", // the absolute limit, not the relative one
			}},
		{"zero stable error ratio", Figures{Requests: 1000, ErrorRatio: f(0.006), P95Seconds: f(0.2)},
			Figures{Requests: 5000, ErrorRatio: f(0), P95Seconds: f(0.2)}, Failed, []string{
				"error ratio 0.60 % is 0.60 points above the stable replicas' 0.00 % (allowed 0.5)",
			}},
		{"stable without requests: only the absolute limits", Figures{Requests: 1000, ErrorRatio: f(0.009), P95Seconds: f(0.45)},
			Figures{}, Passed, nil},
		{"stable worse than canary", Figures{Requests: 1000, ErrorRatio: f(0.002), P95Seconds: f(0.1)},
			Figures{Requests: 5000, ErrorRatio: f(0.009), P95Seconds: f(0.4)}, Passed, nil},
		{"P95 above the limit", Figures{Requests: 1000, ErrorRatio: f(0), P95Seconds: f(0.6)},
			Figures{Requests: 5000, ErrorRatio: f(0), P95Seconds: f(0.45)}, Failed, []string{
				"P95 600ms is above the limit 500ms",
			}},
		{"P95 exactly at the limit", Figures{Requests: 1000, ErrorRatio: f(0), P95Seconds: f(0.5)},
			Figures{Requests: 5000, ErrorRatio: f(0), P95Seconds: f(0.4)}, Passed, nil},
		{"P95 over stable's", Figures{Requests: 1000, ErrorRatio: f(0), P95Seconds: f(1.2)},
			Figures{Requests: 5000, ErrorRatio: f(0), P95Seconds: f(0.5)}, Failed, []string{
				"P95 1.2s is above the limit 500ms",
				"P95 1.2s is 2.4× the stable replicas' 500ms (allowed 1.5×)",
			}},
		{"P95 relative only", Figures{Requests: 1000, ErrorRatio: f(0), P95Seconds: f(0.16)},
			Figures{Requests: 5000, ErrorRatio: f(0), P95Seconds: f(0.1)}, Failed, []string{
				"P95 160ms is 1.6× the stable replicas' 100ms (allowed 1.5×)",
			}},
		{"P95 exactly at the factor", Figures{Requests: 1000, ErrorRatio: f(0), P95Seconds: f(0.15)},
			Figures{Requests: 5000, ErrorRatio: f(0), P95Seconds: f(0.1)}, Passed, nil},
		{"P95 relative under the floor", Figures{Requests: 1000, ErrorRatio: f(0), P95Seconds: f(0.009)},
			Figures{Requests: 5000, ErrorRatio: f(0), P95Seconds: f(0.005)}, Passed, nil},
		{"P95 relative exactly at the floor", Figures{Requests: 1000, ErrorRatio: f(0), P95Seconds: f(0.1)},
			Figures{Requests: 5000, ErrorRatio: f(0), P95Seconds: f(0.05)}, Passed, nil},
		{"nil stable P95", Figures{Requests: 1000, ErrorRatio: f(0), P95Seconds: f(0.4)},
			Figures{Requests: 5000, ErrorRatio: f(0)}, Passed, nil},
		{"zero stable P95", Figures{Requests: 1000, ErrorRatio: f(0), P95Seconds: f(0.4)},
			Figures{Requests: 5000, ErrorRatio: f(0), P95Seconds: f(0)}, Passed, nil},
		{"nil canary P95", Figures{Requests: 1000, ErrorRatio: f(0)}, stable, Passed, nil},
		{"every limit broken", Figures{Requests: 1000, ErrorRatio: f(0.2), P95Seconds: f(2)},
			Figures{Requests: 5000, ErrorRatio: f(0), P95Seconds: f(0.1)}, Failed, []string{
				"error ratio 20.00 % is above the limit 1 %",
				"error ratio 20.00 % is 20.00 points above the stable replicas' 0.00 % (allowed 0.5)",
				"P95 2s is above the limit 500ms",
				"P95 2s is 20.0× the stable replicas' 100ms (allowed 1.5×)",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Decide(limits, tc.canary, tc.stable)
			if v.Outcome != tc.want || !slices.Equal(v.Reasons, tc.reasons) {
				t.Errorf("Decide = %s %q, want %s %q", v.Outcome, v.Reasons, tc.want, tc.reasons)
			}
			if v.Canary != tc.canary || v.Stable != tc.stable {
				t.Errorf("Decide did not keep the figures: %+v", v)
			}
		})
	}
}

func TestDecideOverNamesTheWindow(t *testing.T) {
	v := DecideOver(limits, Figures{Requests: 120}, Figures{}, 10*time.Minute)
	want := "120 requests in 10m0s, fewer than the 200 needed to judge"
	if len(v.Reasons) != 1 || v.Reasons[0] != want {
		t.Errorf("reasons = %q, want %q", v.Reasons, want)
	}
	if v.Window != 10*time.Minute || v.WindowSeconds != 600 {
		t.Errorf("window = %s, %v s", v.Window, v.WindowSeconds)
	}
}

func TestVerdictStringAndJSON(t *testing.T) {
	v := DecideOver(limits, Figures{Requests: 1000, ErrorRatio: f(0.0512), P95Seconds: f(0.12)},
		Figures{Requests: 5000, ErrorRatio: f(0.001), P95Seconds: f(0.1)}, 90*time.Second)
	s := v.String()
	for _, want := range []string{"canary failed over 1m30s", "canary 1000 requests, error ratio 5.12 %, P95 120ms",
		"stable 5000 requests, error ratio 0.10 %, P95 100ms", "error ratio 5.12 % is above the limit 1 %"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q, want it to contain %q", s, want)
		}
	}
	if strings.Contains(s, "\n") {
		t.Errorf("String() is more than one line: %q", s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["outcome"] != "failed" || back["windowSeconds"] != 90.0 || back["canary"].(map[string]any)["errorRatio"] != 0.0512 {
		t.Errorf("JSON = %s", b)
	}
	b, _ = json.Marshal(Decide(limits, Figures{}, Figures{}))
	if strings.Contains(string(b), "errorRatio") || strings.Contains(string(b), "p95Seconds") {
		t.Errorf("figures without requests carry ratios: %s", b)
	}
}

func TestLimitsValidate(t *testing.T) {
	if err := limits.Validate(); err != nil {
		t.Fatalf("valid limits: %v", err)
	}
	tests := []struct {
		name string
		edit func(*Limits)
		want string
	}{
		{"no MinRequests", func(l *Limits) { l.MinRequests = 0 }, "MinRequests is 0: must be at least 1"},
		{"zero ErrorRatio", func(l *Limits) { l.ErrorRatio = 0 }, "ErrorRatio is 0: must be above 0 and at most 1"},
		{"ErrorRatio above 1", func(l *Limits) { l.ErrorRatio = 1.5 }, "ErrorRatio is 1.5"},
		{"no LatencyP95", func(l *Limits) { l.LatencyP95 = 0 }, "LatencyP95 is 0s: must be positive"},
		{"negative ErrorRatioOverStable", func(l *Limits) { l.ErrorRatioOverStable = -0.1 }, "ErrorRatioOverStable is -0.1: must be 0 to 1"},
		{"floor above the limit", func(l *Limits) { l.LatencyP95Floor = time.Second }, "LatencyP95Floor is 1s: must be 0 to LatencyP95 (500ms)"},
		{"LatencyP95OverStable below 1", func(l *Limits) { l.LatencyP95OverStable = 0.9 }, "LatencyP95OverStable is 0.9: must be a finite factor of at least 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := limits
			tc.edit(&l)
			err := l.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
	err := Limits{}.Validate()
	for _, field := range []string{"MinRequests", "ErrorRatio", "LatencyP95", "LatencyP95OverStable"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("zero limits: %v, want every field named (%s)", err, field)
		}
	}
}
