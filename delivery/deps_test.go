package delivery

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// renovateConfig is the part of .github/renovate.json the tests read.
type renovateConfig struct {
	Extends        []string      `json:"extends"`
	Schedule       []string      `json:"schedule"`
	PackageRules   []packageRule `json:"packageRules"`
	CustomManagers []struct {
		CustomType          string   `json:"customType"`
		ManagerFilePatterns []string `json:"managerFilePatterns"`
		MatchStrings        []string `json:"matchStrings"`
	} `json:"customManagers"`
}

type packageRule struct {
	MatchManagers []string `json:"matchManagers"`
	GroupName     string   `json:"groupName"`
}

// handPinned are version pins Renovate does not move, with the reason.
var handPinned = map[string]string{
	"VERSITYGW_VERSION": "test-only S3 server, also pinned in backend/internal/s3test; moved by hand with it",
}

// versionPin is a line that pins a tool version in the Makefile or a workflow.
var versionPin = regexp.MustCompile(`(?m)^\s*([A-Z_]*_VERSION)\s*(?::=|:)\s*v?\d[\w.-]*\s*$`)

// pinCoverageErrors checks one file (name, src) against the custom
// manager's regexes: every `# renovate:` annotation is matched and yields
// the version on the line after it, and every version pin is annotated or
// deliberately left to a human (handPinned).
func pinCoverageErrors(name, src string, managers []*regexp.Regexp) []string {
	var errs []string
	found := map[string]string{} // currentValue by the text of the annotated line
	for _, re := range managers {
		for _, m := range re.FindAllStringSubmatch(src, -1) {
			if v := m[re.SubexpIndex("currentValue")]; v != "" {
				found[strings.TrimSpace(m[0][strings.LastIndex(m[0], "\n")+1:])] = v
			}
		}
	}
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		if strings.Contains(l, "# renovate:") && i+1 < len(lines) {
			next := strings.TrimSpace(lines[i+1])
			if v, ok := found[next]; !ok || !strings.HasSuffix(next, v) {
				errs = append(errs, fmt.Sprintf("%s:%d: Renovate's custom manager does not read the version of %q", name, i+2, next))
			}
		}
	}
	for _, m := range versionPin.FindAllStringSubmatchIndex(src, -1) {
		line := strings.TrimSpace(src[m[0]:m[1]])
		v := src[m[2]:m[3]]
		if _, ok := found[line]; !ok && handPinned[v] == "" {
			errs = append(errs, fmt.Sprintf("%s: %s is not updated by Renovate: add a `# renovate: datasource=... depName=...` comment above it", name, line))
		}
	}
	return errs
}

// jsRegex turns a Renovate pattern ("/.../" or a plain string) into Go's.
func jsRegex(t *testing.T, p string) *regexp.Regexp {
	t.Helper()
	if len(p) > 1 && strings.HasPrefix(p, "/") && strings.HasSuffix(p, "/") {
		p = p[1 : len(p)-1]
	}
	re, err := regexp.Compile(p)
	if err != nil {
		t.Fatalf("Renovate pattern %q: %v", p, err)
	}
	return re
}

func loadRenovate(t *testing.T) renovateConfig {
	t.Helper()
	var c renovateConfig
	if err := json.Unmarshal(read(t, ".github/renovate.json"), &c); err != nil {
		t.Fatalf(".github/renovate.json: %v", err)
	}
	return c
}

// TestRenovateGroupsWeekly: one group (one pull request) per ecosystem, on
// one weekly schedule.
func TestRenovateGroupsWeekly(t *testing.T) {
	c := loadRenovate(t)
	if len(c.Schedule) != 1 || !regexp.MustCompile(`on (monday|tuesday|wednesday|thursday|friday|saturday|sunday)$`).MatchString(c.Schedule[0]) {
		t.Errorf("schedule %q, want one weekly window", c.Schedule)
	}
	for _, manager := range []string{"gomod", "github-actions", "dockerfile", "custom.regex"} {
		if !slices.ContainsFunc(c.PackageRules, func(r packageRule) bool {
			return slices.Contains(r.MatchManagers, manager) && r.GroupName != ""
		}) {
			t.Errorf("no group for Renovate manager %s: its updates would come one pull request each", manager)
		}
	}
	if !slices.Contains(c.Extends, "helpers:pinGitHubActionDigestsToSemver") {
		t.Error("Renovate must keep actions pinned by SHA with the release in a comment (helpers:pinGitHubActionDigestsToSemver)")
	}
}

// TestRenovateReadsEveryPin runs the custom manager's regexes (Renovate's
// syntax is also Go's here) over the files it names.
func TestRenovateReadsEveryPin(t *testing.T) {
	c := loadRenovate(t)
	var patterns, managers []*regexp.Regexp
	for _, m := range c.CustomManagers {
		for _, p := range m.ManagerFilePatterns {
			patterns = append(patterns, jsRegex(t, p))
		}
		for _, s := range m.MatchStrings {
			managers = append(managers, jsRegex(t, s))
		}
	}
	files := []string{"Makefile"}
	for _, f := range workflowFiles(t) {
		files = append(files, relPath(repoRoot(t), f))
	}
	for _, f := range files {
		if !slices.ContainsFunc(patterns, func(re *regexp.Regexp) bool { return re.MatchString(f) }) {
			t.Errorf("Renovate's custom manager does not look at %s", f)
			continue
		}
		for _, e := range pinCoverageErrors(f, string(read(t, f)), managers) {
			t.Error(e)
		}
	}
}

func TestPinCoverageCatchesPlantedFaults(t *testing.T) {
	c := loadRenovate(t)
	var managers []*regexp.Regexp
	for _, m := range c.CustomManagers {
		for _, s := range m.MatchStrings {
			managers = append(managers, jsRegex(t, s))
		}
	}
	tests := []struct {
		name, src, expect string
	}{
		{"annotated", "# renovate: datasource=go depName=golang.org/x/vuln\nGOVULNCHECK_VERSION := v1.9.0\n", ""},
		{"annotated yaml", "env:\n  # renovate: datasource=go depName=x/y extractVersion=^v(?<version>.+)$\n  PULUMI_VERSION: 3.274.1\n", ""},
		{"unannotated pin", "PULUMI_VERSION := v3.274.1\n", "is not updated by Renovate"},
		{"annotation the manager cannot read", "# renovate: datasource=go depName=golang.org/x/vuln\nGOVULNCHECK_VERSION = v1.9.0\n", "does not read the version"},
		{"annotation without a datasource", "# renovate: depName=golang.org/x/vuln\nGOVULNCHECK_VERSION := v1.9.0\n", "does not read the version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := strings.Join(pinCoverageErrors("planted", tt.src, managers), "\n")
			if tt.expect == "" && errs != "" {
				t.Fatalf("unexpected errors:\n%s", errs)
			}
			if !strings.Contains(errs, tt.expect) {
				t.Fatalf("errors %q, want one containing %q", errs, tt.expect)
			}
		})
	}
}

// debianReleases are the HAProxy series and PostgreSQL major each Debian
// release ships: the images install them from RUNTIME_IMAGE's release, so
// the ARG pins must move with it. Renovate proposes the release; a human
// moves these (the PR note says so) and this table.
var debianReleases = map[string]struct{ haproxy, postgres string }{
	"bookworm": {haproxy: "2.6", postgres: "15"},
	"trixie":   {haproxy: "3.0", postgres: "17"},
}

var (
	argDefault  = regexp.MustCompile(`(?m)^ARG\s+(\w+)=(\S+)`)
	debianImage = regexp.MustCompile(`^debian:([a-z]+)(-slim)?$`)
)

// debianPinErrors checks the Dockerfiles (name -> content): each one's
// RUNTIME_IMAGE is a known Debian release and its HAPROXY_VERSION and
// PG_MAJOR are that release's.
func debianPinErrors(files map[string]string) []string {
	var errs []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		args := map[string]string{}
		for _, m := range argDefault.FindAllStringSubmatch(files[name], -1) {
			args[m[1]] = m[2]
		}
		img, ok := args["RUNTIME_IMAGE"]
		if !ok || img == "scratch" {
			continue
		}
		m := debianImage.FindStringSubmatch(img)
		if m == nil {
			errs = append(errs, fmt.Sprintf("%s: RUNTIME_IMAGE %s is not a Debian release image", name, img))
			continue
		}
		rel, ok := debianReleases[m[1]]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: Debian %s is not in delivery/deps_test.go's table: add its HAProxy series and PostgreSQL major", name, m[1]))
			continue
		}
		if v, ok := args["HAPROXY_VERSION"]; ok && v != rel.haproxy+".*" {
			errs = append(errs, fmt.Sprintf("%s: HAPROXY_VERSION=%s, but Debian %s ships HAProxy %s.*", name, v, m[1], rel.haproxy))
		}
		if v, ok := args["PG_MAJOR"]; ok && v != rel.postgres {
			errs = append(errs, fmt.Sprintf("%s: PG_MAJOR=%s, but Debian %s ships PostgreSQL %s", name, v, m[1], rel.postgres))
		}
	}
	return errs
}

func TestDebianPinsMoveWithTheRelease(t *testing.T) {
	files := map[string]string{}
	for _, f := range backendDockerfiles(t) {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = string(b)
	}
	for _, e := range debianPinErrors(files) {
		t.Error(e)
	}
}

func TestDebianPinCheckCatchesPlantedFaults(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		expect string
	}{
		{"bookworm pins", map[string]string{"proxy": "ARG RUNTIME_IMAGE=debian:bookworm-slim\nARG HAPROXY_VERSION=2.6.*\n", "pg": "ARG RUNTIME_IMAGE=debian:bookworm-slim\nARG PG_MAJOR=15\n"}, ""},
		{"scratch has no pins", map[string]string{"backend": "ARG RUNTIME_IMAGE=scratch\n"}, ""},
		{"release moved, HAProxy not", map[string]string{"proxy": "ARG RUNTIME_IMAGE=debian:trixie-slim\nARG HAPROXY_VERSION=2.6.*\n"}, "ships HAProxy 3.0.*"},
		{"release moved, PostgreSQL not", map[string]string{"pg": "ARG RUNTIME_IMAGE=debian:trixie-slim\nARG PG_MAJOR=15\n"}, "ships PostgreSQL 17"},
		{"unknown release", map[string]string{"pg": "ARG RUNTIME_IMAGE=debian:forky-slim\nARG PG_MAJOR=18\n"}, "not in delivery/deps_test.go's table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := strings.Join(debianPinErrors(tt.files), "\n")
			if tt.expect == "" && errs != "" {
				t.Fatalf("unexpected errors:\n%s", errs)
			}
			if !strings.Contains(errs, tt.expect) {
				t.Fatalf("errors %q, want one containing %q", errs, tt.expect)
			}
		})
	}
}
