package rules

import (
	"fmt"
	"slices"
	"strings"
)

// Settings are the tunable parts of the rules. The pack fills them from each
// policy's configuration (see DefaultSettings for the defaults and
// policy/policy-config.example.json for the file format).
type Settings struct {
	// AllowedCapabilities are the Linux capabilities a container may add
	// (normalized to upper case without the CAP_ prefix). Default: none.
	AllowedCapabilities []string
	// MinimumTLSVersion is the lowest Cloudflare minimum TLS version accepted
	// ("1.0", "1.1", "1.2", "1.3"). Default "1.2".
	MinimumTLSVersion string
	// MinimumRetentionDays is the shortest backup retention accepted. Default 7.
	MinimumRetentionDays int
	// ProgramDir is the directory relative build paths of docker.Image are
	// resolved against: the Pulumi program's working directory, which is also
	// the working directory the engine starts the policy pack in. Empty means
	// the process working directory.
	ProgramDir string
}

// DefaultSettings returns the settings used when a policy is not configured.
func DefaultSettings() Settings {
	return Settings{MinimumTLSVersion: "1.2", MinimumRetentionDays: 7}
}

var tlsVersions = []string{"1.0", "1.1", "1.2", "1.3"}

// Config keys of the policies' config schemas.
const (
	ConfigAllowedCapabilities  = "allowedCapabilities"
	ConfigMinimumTLSVersion    = "minimumTlsVersion"
	ConfigMinimumRetentionDays = "minimumRetentionDays"
)

// WithConfig returns s overridden by a policy's configuration properties, as
// the analyzer hands them over (decoded JSON). It returns an error naming the
// key, the value and what is allowed; keys it does not know are ignored (the
// engine validates them against the schema first).
func (s Settings) WithConfig(config map[string]any) (Settings, error) {
	var errs []string
	if v, ok := config[ConfigAllowedCapabilities]; ok {
		list, ok := v.([]any)
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: %v is not a list of capability names", ConfigAllowedCapabilities, v))
		}
		caps := []string{}
		for _, c := range list {
			name, ok := c.(string)
			if !ok || name == "" {
				errs = append(errs, fmt.Sprintf("%s: %v is not a capability name such as NET_BIND_SERVICE", ConfigAllowedCapabilities, c))
				continue
			}
			caps = append(caps, NormalizeCapability(name))
		}
		s.AllowedCapabilities = caps
	}
	if v, ok := config[ConfigMinimumTLSVersion]; ok {
		str, _ := v.(string)
		if !slices.Contains(tlsVersions, str) {
			errs = append(errs, fmt.Sprintf("%s: %v is not one of %s", ConfigMinimumTLSVersion, v, strings.Join(tlsVersions, ", ")))
		} else {
			s.MinimumTLSVersion = str
		}
	}
	if v, ok := config[ConfigMinimumRetentionDays]; ok {
		n, ok := number(v)
		if !ok || n < 1 || n != float64(int(n)) {
			errs = append(errs, fmt.Sprintf("%s: %v is not a whole number of days >= 1", ConfigMinimumRetentionDays, v))
		} else {
			s.MinimumRetentionDays = int(n)
		}
	}
	if len(errs) > 0 {
		return s, fmt.Errorf("policy config: %s", strings.Join(errs, "; "))
	}
	return s, nil
}

// NormalizeCapability spells a Linux capability the way Docker reports it:
// upper case, without the CAP_ prefix.
func NormalizeCapability(c string) string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
}

// Context is what every rule gets besides the resource(s): the environment
// and the settings.
type Context struct {
	Env      Env
	Settings Settings
}

// number accepts the numeric types a decoded config may hold.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}
