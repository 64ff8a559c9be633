package env

import "testing"

func TestNamed(t *testing.T) {
	tests := []struct {
		stack string
		want  Environment
		ok    bool
	}{
		{"dev", Dev, true},
		{"staging", Staging, true},
		{"production", Production, true},
		{"prod", Production, true},
		{"org/production", Production, true},
		{"acme/helloagents/prod", Production, true},
		{"acme/staging", Staging, true},
		{"Dev", "", false},
		{"dev-alice", "", false},
		{"staging/eu", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got, ok := Named(tt.stack); got != tt.want || ok != tt.ok {
			t.Errorf("Named(%q) = %q, %v; want %q, %v", tt.stack, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPredicates(t *testing.T) {
	type row struct{ local, cloudflare, pushes, pins, protects, redundant bool }
	want := map[Environment]row{
		Dev:        {local: true},
		Staging:    {cloudflare: true, pushes: true},
		Production: {cloudflare: true, pins: true, protects: true, redundant: true},
	}
	for _, e := range All() {
		got := row{e.Local(), e.BehindCloudflare(), e.PushesImages(), e.PinsImages(), e.ProtectsData(), e.Redundant()}
		if got != want[e] {
			t.Errorf("%s: got %+v, want %+v", e, got, want[e])
		}
		if p, ok := Parse(string(e)); !ok || p != e {
			t.Errorf("Parse(%q) = %q, %v", e, p, ok)
		}
	}
	if _, ok := Parse("prod"); ok {
		t.Error(`Parse("prod") accepted a stack-name alias as a configured value`)
	}
}
