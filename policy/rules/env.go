package rules

import (
	"fmt"
	"strings"
)

// Env is the deployment environment of the stack under analysis. Several rules
// relax in Dev (loopback HTTP, host networking, advisory read-only root) and
// tighten in Staging and Production (off-host backups).
type Env string

// The environments of the HelloAgents platform: dev on the local engine,
// staging with one region, production with several.
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

// DetectEnv decides the environment of a stack the way the program does
// (stacks.Parse): an explicit configured value (the stack's
// `helloagents:environment` config) wins; otherwise the last segment of the
// stack name ("acme/prod" -> "prod") when it is dev, staging, production or
// prod. Any other name is treated as Production, the strictest environment,
// so an unrecognized stack never gets dev leniency (the program itself
// refuses such a stack without an explicit environment).
func DetectEnv(stack, configured string) (Env, error) {
	if strings.TrimSpace(configured) != "" {
		return ParseEnv(configured)
	}
	switch name := stack[strings.LastIndex(stack, "/")+1:]; name {
	case "dev":
		return Dev, nil
	case "staging":
		return Staging, nil
	}
	return Production, nil
}
