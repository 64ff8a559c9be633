package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/robfig/cron/v3"

	"github.com/helloagents/infra/components/canonical"
	"github.com/helloagents/infra/contract"
)

var (
	dnsLabel     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	regionName   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$`)
	pinnedImage  = regexp.MustCompile(`^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$`)
	numericUser  = regexp.MustCompile(`^([0-9]+)(:[0-9]+)?$`)
	hex32        = regexp.MustCompile(`^[0-9a-f]{32}$`)
	sqlIdent     = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	bucketName   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	objectPrefix = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)
	pagesName    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,56}[a-z0-9])?$`)
	githubName   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)
	envVarName   = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
	allDigits    = regexp.MustCompile(`^[0-9]+$`)
)

// placeholderDigest and placeholderIDs are the values the committed stack
// files ship with: valid in form, so only this list tells them from real
// ones. A deploy with them would fail at the registry or at Cloudflare after
// other resources changed; validation refuses them first, with the fix.
const placeholderDigest = "@sha256:0000000000000000000000000000000000000000000000000000000000000000"

var placeholderIDs = []string{"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"}

// Placeholders returns the placeholder values of the committed stack files
// (digest suffix and Cloudflare ids); tests that render those files replace
// them with real-looking values.
func Placeholders() []string {
	return append([]string{placeholderDigest}, placeholderIDs...)
}

// IsPlaceholder reports whether v is or ends in a committed placeholder.
func IsPlaceholder(v string) bool {
	return strings.HasSuffix(v, placeholderDigest) || slices.Contains(placeholderIDs, v)
}

// checkRegions are Cloudflare's health-check probe regions.
var checkRegions = []string{"WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "IN", "SEAS", "NEAS", "ALL_REGIONS"}

// problems collects validation errors; each names the key, the value and
// what is allowed.
type problems []error

func (p *problems) bad(key string, value any, allowed string) {
	*p = append(*p, fmt.Errorf("%s: invalid value %s; allowed: %s", key, quote(value), allowed))
}

func (p *problems) missing(key, why string) {
	*p = append(*p, fmt.Errorf("%s: missing; %s", key, why))
}

func quote(v any) string {
	switch v := v.(type) {
	case string:
		return clip(v)
	case Secret:
		return "[secret]"
	default:
		return fmt.Sprint(v)
	}
}

// validate checks every rule and returns all violations.
func (c Config) validate() []error {
	var p problems
	c.validateRegions(&p)
	c.validateHealthCheck(&p)
	for _, s := range c.sections() {
		if s.validate != nil {
			s.validate(&p)
		}
	}
	if c.Environment.Local() {
		if u, err := url.Parse(c.Frontend.LocalURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.bad(full(KeyFrontend)+".localUrl", c.Frontend.LocalURL, "an http(s) URL such as http://localhost:5173")
		}
	} else {
		c.validateEdge(&p)
		c.validateFrontend(&p)
		c.validateSecrets(&p)
	}
	return p
}

func (c Config) validateRegions(p *problems) {
	key := full(KeyRegions)
	if len(c.Regions) == 0 {
		p.missing(key, "no regions; at least one region {name, dockerHost, replicas} is required")
		return
	}
	if c.Environment.Redundant() && len(c.Regions) < 2 {
		p.bad(key, fmt.Sprintf("%d region", len(c.Regions)), "at least two regions in production (the load balancer fails over between them)")
	}
	if c.Environment.Local() && len(c.Regions) > 1 {
		p.bad(key, fmt.Sprintf("%d regions", len(c.Regions)), "exactly one region in dev (the local engine)")
	}
	seen := map[string]bool{}
	for i, r := range c.Regions {
		k := fmt.Sprintf("%s[%d]", key, i)
		if !regionName.MatchString(r.Name) {
			p.bad(k+".name", r.Name, "a DNS label: lowercase letters, digits and '-', 1..24 characters")
		} else if seen[r.Name] {
			p.bad(k+".name", r.Name, "a name not used by another region (duplicate)")
		}
		seen[r.Name] = true
		if r.Replicas < 1 || r.Replicas > 3 {
			p.bad(k+".replicas", r.Replicas, "1..3 (the platform's scaling bounds)")
		}
		checkDockerHost(p, k+".dockerHost", r.DockerHost, c.Environment.Local())
		switch {
		case c.Environment.PinsImages() && r.Image == "":
			p.missing(k+".image", "production deploys only digest-pinned images: repo@sha256:<64 hex>, written by promotion")
		case c.Environment.PinsImages() && !pinnedImage.MatchString(r.Image):
			p.bad(k+".image", r.Image, "a digest-pinned image reference repo@sha256:<64 hex>")
		case c.Environment.PinsImages() && IsPlaceholder(r.Image):
			p.bad(k+".image", r.Image, fmt.Sprintf("a released digest, not the committed placeholder; "+
				"first release: pulumi config set --stack %s --path '%s' \"$(pulumi stack output backendImage --stack staging)\"",
				c.Stack, strings.TrimPrefix(k, Namespace+":")+".image"))
		case !c.Environment.PinsImages() && r.Image != "":
			p.bad(k+".image", r.Image, "unset outside production (staging and dev build the image from backend/)")
		}
	}
}

// checkDockerHost accepts unix:///path when socket (the local engine) and
// ssh://user@host[:port] always: a plain tcp:// daemon would expose root on
// the network.
func checkDockerHost(p *problems, key, host string, socket bool) {
	allowed := "ssh://user@host[:port]"
	if socket {
		allowed = "unix:///var/run/docker.sock or " + allowed
	}
	u, err := url.Parse(host)
	if err != nil {
		p.bad(key, host, allowed)
		return
	}
	switch u.Scheme {
	case "unix":
		if !socket || u.Host != "" || u.Path == "" {
			p.bad(key, host, allowed)
		}
	case "ssh":
		port := u.Port()
		okPort := port == ""
		if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65536 {
			okPort = true
		}
		if u.User == nil || u.User.Username() == "" || u.Hostname() == "" || !okPort ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			p.bad(key, host, allowed)
		}
		if _, hasPassword := u.User.Password(); hasPassword {
			p.bad(key, "ssh://[password redacted]", allowed+" with key authentication, no password in the URL")
		}
	default:
		p.bad(key, host, allowed)
	}
}

func (c Config) validateHealthCheck(p *problems) {
	k := full(KeyHealthCheck)
	hc := c.HealthCheck
	if hc.Interval < 1e9 {
		p.bad(k+".interval", hc.Interval.String(), "at least 1s")
	}
	if hc.Timeout < 1e9 || hc.Timeout >= hc.Interval {
		p.bad(k+".timeout", hc.Timeout.String(), fmt.Sprintf("at least 1s and shorter than interval (%s)", hc.Interval))
	}
	if hc.Retries < 1 || hc.Retries > 10 {
		p.bad(k+".retries", hc.Retries, "1..10")
	}
	if hc.StartPeriod < 0 {
		p.bad(k+".startPeriod", hc.StartPeriod.String(), "0s or more")
	}
	if len(hc.ExpectedCodes) == 0 {
		p.bad(k+".expectedCodes", "[]", "at least one HTTP status code")
	}
	for _, code := range hc.ExpectedCodes {
		if code < 200 || code > 399 {
			p.bad(k+".expectedCodes", code, "HTTP status codes 200..399")
		}
	}
}

// validateBackend checks the backend service: its containers, its image
// and what it is configured to call.
func (c Config) validateBackend(p *problems) {
	c.validateBackendContainer(p)
	c.validateBackendImage(p)
	c.validateBackendRuntime(p)
	c.validateCanary(p)
}

// validateBackendContainer checks how each backend container runs: ports,
// user, resources, proxy image, restarts and trace sampling.
func (c Config) validateBackendContainer(p *problems) {
	k := full(KeyBackend)
	b := c.Backend
	if b.Port < 1 || b.Port > 65535 {
		p.bad(k+".port", b.Port, "1..65535")
	}
	if c.Environment.Local() && (b.HostPort < 1 || b.HostPort > 65535) {
		p.bad(k+".hostPort", b.HostPort, "1..65535")
	}
	checkUser(p, k+".user", b.User)
	if b.MemoryMB < 64 || b.MemoryMB > 65536 {
		p.bad(k+".memoryMb", b.MemoryMB, "64..65536")
	}
	if b.CPUs <= 0 || b.CPUs > 64 || !canonical.ExactCPUs(b.CPUs) {
		p.bad(k+".cpus", b.CPUs, "more than 0 and at most 64, in tenths or quarters of a core (the docker provider reads 0.01 back as 0.0 and 0.05 as 0.1)")
	}
	c.checkPinnedImage(p, k+".proxyImage", b.ProxyImage, "proxy", contract.OutputProxyImage)
	if b.MaxRestarts < 1 || b.MaxRestarts > 10 {
		p.bad(k+".maxRestarts", b.MaxRestarts, "1..10 (a bounded on-failure restart policy)")
	}
	if b.SentryTracesSampleRate < 0 || b.SentryTracesSampleRate > 1 {
		p.bad(k+".sentryTracesSampleRate", b.SentryTracesSampleRate, "0..1")
	}
}

// validateBackendImage checks where the backend image comes from: its
// repository, the registry staging pushes to and the engine that builds it.
func (c Config) validateBackendImage(p *problems) {
	k := full(KeyBackend)
	b := c.Backend
	if b.Repository == "" {
		p.missing(k+".repository", "the image repository name")
	}
	if c.Environment.PushesImages() {
		if !strings.Contains(b.Repository, "/") {
			p.bad(k+".repository", b.Repository, "a registry repository such as ghcr.io/org/backend (staging pushes)")
		}
		if b.RegistryServer == "" {
			p.missing(k+".registryServer", "staging pushes the image: set the registry host, e.g. ghcr.io")
		}
		if b.RegistryUsername == "" {
			p.missing(k+".registryUsername", "staging pushes the image: set the registry user")
		}
	}
	if !c.Environment.PinsImages() {
		// The builder may be the CI runner's own engine, in any environment.
		checkDockerHost(p, k+".buildHost", b.BuildHost, true)
	}
}

// validateBackendRuntime checks what the running backend is given: the
// origins it allows, the sandbox pool it calls and its healthcheck.
func (c Config) validateBackendRuntime(p *problems) {
	k := full(KeyBackend)
	b := c.Backend
	for i, o := range b.CORSAllowedOrigins {
		c.checkPublicURL(p, fmt.Sprintf("%s.corsAllowedOrigins[%d]", k, i), o)
	}
	if b.SandboxPoolURL != "" {
		if u, err := url.Parse(b.SandboxPoolURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.bad(k+".sandboxPoolUrl", b.SandboxPoolURL, "an http(s) URL")
		}
	}
	if len(b.HealthcheckCommand) < 2 || (b.HealthcheckCommand[0] != "CMD" && b.HealthcheckCommand[0] != "CMD-SHELL") {
		p.bad(k+".healthcheckCommand", strings.Join(b.HealthcheckCommand, " "), `["CMD", "<binary>", args...]`)
	}
}

// checkPublicURL rejects anything but https outside dev.
func (c Config) checkPublicURL(p *problems, key, raw string) {
	u, err := url.Parse(raw)
	ok := err == nil && u.Host != "" && (u.Scheme == "https" || (u.Scheme == "http" && c.Environment.Local()))
	if !ok {
		allowed := "an https:// URL (HTTP is allowed only in dev)"
		if c.Environment.Local() {
			allowed = "an http(s):// URL"
		}
		p.bad(key, raw, allowed)
	}
}

func checkUser(p *problems, key, user string) {
	m := numericUser.FindStringSubmatch(user)
	if m == nil || m[1] == "0" || strings.TrimLeft(m[1], "0") == "" {
		p.bad(key, user, "a numeric non-root uid[:gid] such as 65532:65532")
	}
}

func (c Config) validateDatabase(p *problems) {
	k := full(KeyDatabase)
	d := c.Database
	c.checkPinnedImage(p, k+".image", d.Image, "Postgres (backend/postgres.Dockerfile)", contract.OutputPostgresImage)
	if !sqlIdent.MatchString(d.Name) {
		p.bad(k+".name", d.Name, "a lowercase SQL identifier")
	}
	if !sqlIdent.MatchString(d.User) {
		p.bad(k+".user", d.User, "a lowercase SQL identifier")
	}
	checkUser(p, k+".runAs", d.RunAs)
	if d.MemoryMB < 128 || d.MemoryMB > 262144 {
		p.bad(k+".memoryMb", d.MemoryMB, "128..262144")
	}
	c.validateArchiving(p)
	c.validatePrimaryRegion(p)
}

// validatePrimaryRegion checks database.primaryRegion names a configured
// region (dev and single-region stacks have only that one).
func (c Config) validatePrimaryRegion(p *problems) {
	var names []string
	for _, r := range c.Regions {
		names = append(names, r.Name)
	}
	if len(names) > 0 && !slices.Contains(names, c.Database.PrimaryRegion) {
		p.bad(full(KeyDatabase)+".primaryRegion", c.Database.PrimaryRegion,
			"the name of a configured region: "+strings.Join(names, ", "))
	}
}

func (c Config) validateBackup(p *problems) {
	k := full(KeyBackup)
	b := c.Backup
	if _, err := cron.ParseStandard(b.Schedule); err != nil {
		p.bad(k+".schedule", b.Schedule, "a 5-field cron expression (minute hour day month weekday) or @hourly/@daily/@weekly")
	}
	if b.RetentionDays < 1 {
		p.bad(k+".retentionDays", b.RetentionDays, "at least 1 day")
	}
	if b.KeepLast < 1 {
		p.bad(k+".keepLast", b.KeepLast, "at least 1 dump")
	}
	if !objectPrefix.MatchString(b.Prefix) || slices.Contains(strings.Split(b.Prefix, "/"), "..") {
		p.bad(k+".prefix", b.Prefix, "path segments of letters, digits, '.', '_' and '-' separated by '/'")
	}
	checkUser(p, k+".runAs", b.RunAs)
	if c.Environment.BehindCloudflare() && !bucketName.MatchString(b.Bucket) {
		p.bad(k+".bucket", b.Bucket, "an R2 bucket name: 3..63 lowercase letters, digits and '-'")
	}
	c.checkPinnedImage(p, k+".image", b.Image, "pgbackup", contract.OutputBackupImage)
}

// checkPinnedImage checks an image that production pins and the other
// environments build from backend/; output is the staging stack output a
// first release copies it from.
func (c Config) checkPinnedImage(p *problems, key, ref, what, output string) {
	switch {
	case c.Environment.PinsImages() && ref == "":
		p.missing(key, "production deploys only the digest-pinned "+what+" image: repo@sha256:<64 hex>")
	case c.Environment.PinsImages() && !pinnedImage.MatchString(ref):
		p.bad(key, ref, "a digest-pinned image reference repo@sha256:<64 hex>")
	case c.Environment.PinsImages() && IsPlaceholder(ref):
		p.bad(key, ref, fmt.Sprintf("a released digest, not the committed placeholder; "+
			"first release: pulumi config set --stack %s --path '%s' \"$(pulumi stack output %s --stack staging)\"", c.Stack, strings.TrimPrefix(key, Namespace+":"), output))
	case !c.Environment.PinsImages() && ref != "":
		p.bad(key, ref, "unset outside production (staging and dev build it from backend/)")
	}
}
