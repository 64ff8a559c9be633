package stacks

import (
	"testing"

	"github.com/helloagents/infra/policy/rules"
)

// TestPackDetectsTheProgramsEnvironment proves the policy pack judges a stack
// under the environment the program deploys it as: for every stack name and
// configured value the program accepts, rules.DetectEnv returns the same
// environment; where the program refuses the stack (no environment, or one
// contradicting the name), the pack refuses it too or judges it as
// production, never with dev leniency.
func TestPackDetectsTheProgramsEnvironment(t *testing.T) {
	tests := []struct {
		stack, configured string
		want              Environment // "" when the program refuses the stack
	}{
		{"dev", "", Dev},
		{"staging", "", Staging},
		{"production", "", Production},
		{"prod", "", Production},
		{"org/dev", "", Dev},
		{"org/staging", "", Staging},
		{"org/production", "", Production},
		{"org/prod", "", Production},
		{"acme/helloagents/prod", "", Production},
		{"dev", "dev", Dev},
		{"staging", "staging", Staging},
		{"production", "production", Production},
		{"prod", "production", Production},
		{"feature-x", "dev", Dev},
		{"eu-staging", "staging", Staging},
		{"acme/live", "production", Production},
		{"feature-x", "", ""},
		{"dev-alice", "", ""},
		{"Dev", "", ""},
		{"PRODUCTION", "", ""},
		{"staging/eu", "", ""},
		{"dev", "production", ""},
		{"production", "dev", ""},
		{"prod", "staging", ""},
	}
	for _, tt := range tests {
		program, err := environment(tt.stack, tt.configured)
		if (err == nil) != (tt.want != "") || program != tt.want {
			t.Errorf("program: environment(%q, %q) = %q, %v; want %q", tt.stack, tt.configured, program, err, tt.want)
		}
		pack, err := rules.DetectEnv(tt.stack, tt.configured)
		switch {
		case program != "" && (err != nil || pack != program):
			t.Errorf("stack %q (configured %q): program deploys %q, pack judges %q (%v)", tt.stack, tt.configured, program, pack, err)
		case program == "" && err == nil && pack.Local():
			t.Errorf("stack %q (configured %q): program refuses it, pack judges it %q with dev leniency", tt.stack, tt.configured, pack)
		}
	}
}
