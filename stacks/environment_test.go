package stacks

import (
	"testing"

	"github.com/helloagents/infra/policy/rules"
	"github.com/helloagents/infra/stacks/config"
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
		want              config.Environment // "" when the program refuses the stack
	}{
		{"dev", "", config.Dev},
		{"staging", "", config.Staging},
		{"production", "", config.Production},
		{"prod", "", config.Production},
		{"org/dev", "", config.Dev},
		{"org/staging", "", config.Staging},
		{"org/production", "", config.Production},
		{"org/prod", "", config.Production},
		{"acme/helloagents/prod", "", config.Production},
		{"dev", "dev", config.Dev},
		{"staging", "staging", config.Staging},
		{"production", "production", config.Production},
		{"prod", "production", config.Production},
		{"feature-x", "dev", config.Dev},
		{"eu-staging", "staging", config.Staging},
		{"acme/live", "production", config.Production},
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
		program, err := config.DetectEnvironment(tt.stack, tt.configured)
		if (err == nil) != (tt.want != "") || program != tt.want {
			t.Errorf("program: config.DetectEnvironment(%q, %q) = %q, %v; want %q", tt.stack, tt.configured, program, err, tt.want)
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
