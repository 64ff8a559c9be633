package rules

import (
	"fmt"
	"strings"
)

// Env is the deployment environment of the stack under analysis. Several rules
// relax in Dev (loopback HTTP, host networking, advisory read-only root) and
// tighten in Staging and Production (off-host backups).
type Env string

// The environments of the HelloAgents platform (see ARCHITECTURE.md).
const (
	Dev        Env = "dev"
	Staging    Env = "staging"
	Production Env = "production"
)

// ParseEnv maps an environment name, as written in `helloagents:environment`,
// to an Env.
func ParseEnv(s string) (Env, error) {
	switch e := Env(strings.ToLower(strings.TrimSpace(s))); e {
	case Dev, Staging, Production:
		return e, nil
	}
	return "", fmt.Errorf("environment %q: allowed values are dev, staging, production", s)
}

// DetectEnv decides the environment of a stack. An explicit configured value
// (the stack's `helloagents:environment` config) wins; otherwise the stack
// name decides: its last path segment ("org/project/prod-eu" -> "prod-eu")
// equal to, or starting with "<name>-", one of dev/development/local,
// staging/stage, production/prod. Any other name is treated as Production,
// the strictest environment, so an unrecognized stack never gets dev leniency.
func DetectEnv(stack, configured string) (Env, error) {
	if strings.TrimSpace(configured) != "" {
		return ParseEnv(configured)
	}
	name := strings.ToLower(stack)
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	aliases := []struct {
		env   Env
		names []string
	}{
		{Dev, []string{"dev", "development", "local"}},
		{Staging, []string{"staging", "stage"}},
		{Production, []string{"production", "prod"}},
	}
	for _, a := range aliases {
		for _, n := range a.names {
			if name == n || strings.HasPrefix(name, n+"-") {
				return a.env, nil
			}
		}
	}
	return Production, nil
}
