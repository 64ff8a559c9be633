package rules

import (
	"fmt"
	"strings"

	"github.com/helloagents/infra/policy/env"
)

// Env is the deployment environment of the stack under analysis (defined
// once in package env, for the program too). Several rules relax in dev
// (loopback HTTP, host networking, advisory read-only root) and tighten
// behind Cloudflare (off-host backups, alerts).
type Env = env.Environment

// The environments of the HelloAgents platform: dev on the local engine,
// staging with one region, production with several.
const (
	Dev        = env.Dev
	Staging    = env.Staging
	Production = env.Production
)

// ParseEnv maps an environment name, as written in `helloagents:environment`,
// to an Env.
func ParseEnv(s string) (Env, error) {
	if e, ok := env.Parse(strings.ToLower(strings.TrimSpace(s))); ok {
		return e, nil
	}
	return "", fmt.Errorf("environment %q: allowed values are %s", s, env.Allowed())
}

// DetectEnv decides the environment of a stack the way the program does
// (stacks/config.Parse): an explicit configured value (the stack's
// `helloagents:environment` config) is used when the stack name names no
// environment (env.Named) or the same one; a value contradicting the name is
// an error, as in the program ("production" judged with dev rules would skip
// every guard). A name that names no environment and has no configured value
// is treated as Production, the strictest environment, so an unrecognized
// stack never gets dev leniency (the program itself refuses such a stack).
func DetectEnv(stack, configured string) (Env, error) {
	named, isNamed := env.Named(stack)
	if strings.TrimSpace(configured) == "" {
		if isNamed {
			return named, nil
		}
		return Production, nil
	}
	e, err := ParseEnv(configured)
	if err != nil {
		return "", err
	}
	if isNamed && e != named {
		return "", fmt.Errorf("environment %q contradicts stack %q: allowed value is %q (the environment the stack name names)", configured, stack, named)
	}
	return e, nil
}
