package main

import (
	"fmt"
	"strconv"
	"strings"
)

// The versions `make up` is known to work with. pulumiPinned is the
// Makefile's PULUMI_VERSION (the SDK in go.mod and the CLI of make tools):
// the program is tested with that minor release only, and the README asks
// for it (TestVersionsMatchMakefileAndReadme keeps the three in step).
// Docker 20.10 is the oldest engine API (1.41) the docker provider's
// healthcheck and build options are exercised against.
const (
	pulumiPinned = "v3.274.1"
	pulumiSeries = "3.274"
	minDocker    = "20.10"
)

// pulumiInstall installs exactly the pinned CLI, language host included.
var pulumiInstall = "install the official CLI " + strings.TrimPrefix(pulumiPinned, "v") + ": curl -fsSL https://get.pulumi.com | sh -s -- --version " +
	strings.TrimPrefix(pulumiPinned, "v") + "\nthen: export PATH=\"$HOME/.pulumi/bin:$PATH\""

// pulumiVersionCheck reads `pulumi version` output ("v3.274.1") and says
// why it does not fit pulumiSeries; ok when it does.
func pulumiVersionCheck(out string) (why string, ok bool) {
	v, err := parseVersion(out)
	if err != nil {
		return fmt.Sprintf("cannot read the CLI's version from %q; required: %s.x", out, pulumiSeries), false
	}
	want := mustParse(pulumiSeries)
	if v[0] != want[0] || v[1] != want[1] {
		return fmt.Sprintf("found Pulumi CLI %s; required: %s.x (the Makefile's PULUMI_VERSION %s)", out, pulumiSeries, pulumiPinned), false
	}
	return "", true
}

// parseVersion reads the first "[v]MAJOR.MINOR[.PATCH]" in s, ignoring a
// pre-release or build suffix ("-dev.0", "+dfsg1", "-ce") that distributions
// add: Debian's docker.io reports "20.10.24+dfsg1".
func parseVersion(s string) ([3]int, error) {
	var v [3]int
	for _, field := range strings.Fields(s) {
		field = strings.TrimPrefix(strings.TrimRight(field, ",;:"), "v")
		if i := strings.IndexAny(field, "-+~"); i >= 0 {
			field = field[:i]
		}
		parts := strings.Split(field, ".")
		if len(parts) < 2 || len(parts) > 3 {
			continue
		}
		ok := true
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				ok = false
				break
			}
			v[i] = n
		}
		if ok {
			return v, nil
		}
		v = [3]int{}
	}
	return v, fmt.Errorf("no version in %q", s)
}

// mustParse parses a version constant of this file.
func mustParse(s string) [3]int {
	v, err := parseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// compareParts orders two parsed versions.
func compareParts(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			return a[i] - b[i]
		}
	}
	return 0
}
