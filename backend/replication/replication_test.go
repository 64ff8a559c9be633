package replication

import (
	"encoding/json"
	"testing"
	"time"
)

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		name      string
		json      string
		replaying bool
		lag       time.Duration
		lagKnown  bool
	}{
		{"primary", `{"role":"primary","timeline":1,"inRecovery":false,"lastReplayAt":null,"replayLagSeconds":null,"replayLsn":"","fenced":false}`,
			false, 0, false},
		{"standby", `{"role":"standby","timeline":2,"inRecovery":true,"lastReplayAt":"2026-11-27T12:00:00Z","replayLagSeconds":1.5,"replayLsn":"0/3000060","fenced":false}`,
			true, 1500 * time.Millisecond, true},
		{"fenced standby", `{"role":"standby","timeline":2,"inRecovery":true,"lastReplayAt":null,"replayLagSeconds":null,"replayLsn":"","fenced":true}`,
			false, 0, false},
		{"promoted, still in recovery", `{"role":"primary","timeline":3,"inRecovery":true,"lastReplayAt":null,"replayLagSeconds":null,"replayLsn":"","fenced":false}`,
			false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Status
			if err := json.Unmarshal([]byte(tc.json), &s); err != nil {
				t.Fatal(err)
			}
			if got := s.Replaying(); got != tc.replaying {
				t.Errorf("Replaying() = %v, want %v", got, tc.replaying)
			}
			if got, ok := s.Lag(); got != tc.lag || ok != tc.lagKnown {
				t.Errorf("Lag() = %v, %v; want %v, %v", got, ok, tc.lag, tc.lagKnown)
			}
			// What pgrole writes is what the failover engine reads: the
			// encoding round-trips field for field.
			out, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.json {
				t.Errorf("encoded %s\nwant    %s", out, tc.json)
			}
		})
	}
}

func TestFormatLag(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.0s"}, {2100 * time.Millisecond, "2.1s"}, {59 * time.Second, "59.0s"}, {5*time.Minute + 3400*time.Millisecond, "5m3s"},
	} {
		if got := FormatLag(tc.d); got != tc.want {
			t.Errorf("FormatLag(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
