package verify

import (
	"slices"
	"testing"
	"time"
)

func TestApplyFlags(t *testing.T) {
	good := Options{MinPassRate: 1, Timeout: time.Second, Requests: 20}
	tests := []struct {
		name        string
		opts        Options
		retries     int
		wantRetries int
		wantErrs    []string
	}{
		{"defaults", good, 3, 3, nil},
		{"zero retries means none", good, 0, NoRetries, nil},
		{"negative retries", good, -1, 0, []string{"--retries -1: must be >= 0"}},
		{"every bad flag at once", Options{MinPassRate: 1.5}, 2, 2, []string{
			"--min-pass-rate 1.5: must be in (0, 1]",
			"--timeout 0s: must be positive",
			"--requests 0: must be at least 1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			errs := o.ApplyFlags(tt.retries)
			if !slices.Equal(errs, tt.wantErrs) {
				t.Errorf("errors = %q, want %q", errs, tt.wantErrs)
			}
			if o.Retries != tt.wantRetries {
				t.Errorf("Retries = %d, want %d", o.Retries, tt.wantRetries)
			}
		})
	}
}
