package promote

import (
	"fmt"
	"slices"
	"strings"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/stacks/config"
)

// region is one target region as configured, in rollout order.
type region struct {
	// Index is the position in helloagents:regions; the path config key
	// helloagents:regions[Index].image holds the region's digest.
	Index int
	Name  string
	Image string
	// CanaryImage is the digest of the region's running canary, if any.
	CanaryImage string
}

func (r region) imageKey() string {
	return contract.RegionImageKey(r.Index)
}

// target is what promotion needs from the target stack's config.
type target struct {
	// Environment is the target's parsed environment (helloagents:environment,
	// else the stack's name): it decides the production confirmation.
	Environment config.Environment
	Regions     []region
	HealthCheck healthcheck.Settings
	// Shared is the image of each stack-wide artifact, by config path.
	Shared map[string]string
	// Canary is the target's backend.canary: nil when its releases run
	// no canary.
	Canary *config.Canary
}

// canaryKey is the config path of the named region's canary image.
func (t target) canaryKey(name string) (string, bool) {
	i := slices.IndexFunc(t.Regions, func(r region) bool { return r.Name == name })
	if i < 0 {
		return "", false
	}
	return contract.RegionCanaryImageKey(t.Regions[i].Index), true
}

// readTarget extracts the ordered regions and the health-check settings
// from the target's raw config through config.Parse, so promotion reads the
// config exactly as the program does and refuses a target whose config the
// program would reject anyway (every problem is listed at once).
func readTarget(stack string, raw map[string]string) (target, error) {
	cfg, err := config.Parse(stack, raw)
	if err != nil {
		if keys := placeholderImages(cfg); len(keys) > 0 {
			return target{}, fmt.Errorf("stack %q has never been released: the committed placeholder digest is still in %s, "+
				"so a failed gate would have nothing to roll back to; promotion refuses that. "+
				"Make the first release explicitly: set each of them to the digest staging runs "+
				"(pulumi stack output backendImage / backupImage / proxyImage / postgresImage / prometheusImage / alertmanagerImage / pgexporterImage --stack staging), "+
				"run pulumi up --stack %s --policy-pack ./policy, check it with infra/verify, "+
				"and promote from then on: %w", stack, strings.Join(keys, ", "), stack, err)
		}
		return target{}, fmt.Errorf("stack %q config is invalid: %w", stack, err)
	}
	t := target{Environment: cfg.Environment, HealthCheck: cfg.HealthCheck, Shared: map[string]string{}, Canary: cfg.Backend.Canary}
	for _, a := range stackArtifacts() {
		t.Shared[a.key] = a.current(cfg)
	}
	for i, r := range cfg.Regions {
		t.Regions = append(t.Regions, region{Index: i, Name: r.Name, Image: r.Image, CanaryImage: r.CanaryImage})
	}
	if len(t.Regions) == 0 {
		return t, fmt.Errorf("stack %q: %s is empty; allowed: at least one region", stack, contract.KeyRegions)
	}
	return t, nil
}

// selectRegions returns the regions named in only (all when empty), always
// in configured order, and rejects names the target does not have.
func selectRegions(all []region, only []string) ([]region, error) {
	if len(only) == 0 {
		return all, nil
	}
	var names []string
	for _, r := range all {
		names = append(names, r.Name)
	}
	for _, n := range only {
		if !slices.Contains(names, n) {
			return nil, fmt.Errorf("region %q is not configured in the target; allowed: %s", n, strings.Join(names, ", "))
		}
	}
	var out []region
	for _, r := range all {
		if slices.Contains(only, r.Name) {
			out = append(out, r)
		}
	}
	return out, nil
}

// placeholderImages lists the image keys of cfg that hold a committed
// placeholder: the target has no released image there.
func placeholderImages(cfg config.Config) []string {
	var keys []string
	for i, r := range cfg.Regions {
		if config.IsPlaceholder(r.Image) {
			keys = append(keys, region{Index: i}.imageKey())
		}
	}
	for _, a := range stackArtifacts() {
		if config.IsPlaceholder(a.current(cfg)) {
			keys = append(keys, a.key)
		}
	}
	return keys
}

// configuredImage returns the image the target's config holds for a
// journal artifact, checking a region is still where the journal says.
func configuredImage(tgt target, a JournalArtifact) (string, error) {
	if a.Region == "" {
		return tgt.Shared[a.Key], nil
	}
	i := slices.IndexFunc(tgt.Regions, func(r region) bool { return r.Name == a.Region })
	if i < 0 || tgt.Regions[i].imageKey() != a.Key {
		return "", fmt.Errorf("the journal's region %s is no longer at %s in the target config", a.Region, a.Key)
	}
	return tgt.Regions[i].Image, nil
}
