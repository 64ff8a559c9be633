package rules

import (
	"reflect"
	"strings"
	"testing"
)

func TestDetectEnv(t *testing.T) {
	tests := []struct {
		stack, configured string
		want              Env
		wantErr           bool
	}{
		{"dev", "", Dev, false},
		{"staging", "", Staging, false},
		{"production", "", Production, false},
		{"acme/helloagents/prod", "", Production, false},
		{"acme/staging", "", Staging, false},
		{"dev-alice", "", Production, false},
		{"Dev", "", Production, false},
		{"mystery", "", Production, false},
		{"mystery", "dev", Dev, false},
		{"acme/live", "production", Production, false},
		{"dev", "production", "", true},
		{"production", "dev", "", true},
		{"prod", "Production", Production, false},
		{"dev", "qa", "", true},
	}
	for _, tt := range tests {
		got, err := DetectEnv(tt.stack, tt.configured)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("DetectEnv(%q, %q) = %q, %v; want %q (error %v)", tt.stack, tt.configured, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSettingsWithConfig(t *testing.T) {
	got, err := DefaultSettings().WithConfig(map[string]any{
		ConfigAllowedCapabilities:  []any{"cap_net_bind_service"},
		ConfigMinimumTLSVersion:    "1.3",
		ConfigMinimumRetentionDays: float64(30),
		"enforcementLevel":         "mandatory",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{AllowedCapabilities: []string{"NET_BIND_SERVICE"}, MinimumTLSVersion: "1.3", MinimumRetentionDays: 30}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	_, err = DefaultSettings().WithConfig(map[string]any{
		ConfigAllowedCapabilities:  "NET_ADMIN",
		ConfigMinimumTLSVersion:    "1.4",
		ConfigMinimumRetentionDays: 0.5,
	})
	for _, frag := range []string{"allowedCapabilities: NET_ADMIN", `minimumTlsVersion: 1.4 is not one of 1.0, 1.1, 1.2, 1.3`, "minimumRetentionDays: 0.5"} {
		if err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("error %v does not mention %q", err, frag)
		}
	}
}
