package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/policy/restype"
)

// ContainersRunAsNonRoot requires every docker Container to set `user` to a
// numeric, non-zero uid (optionally "uid:gid"). A user name is refused too:
// whether it maps to uid 0 depends on the image's /etc/passwd, which the
// policy cannot see.
func ContainersRunAsNonRoot(r policyx.AnalyzerResource, _ Context) []string {
	if r.Type != restype.DockerContainer {
		return nil
	}
	user, st := stringAt(r.Properties, "user")
	switch st {
	case unknown:
		return nil
	case absent:
		user = ""
	}
	if problem := rootUser(user); problem != "" {
		return []string{fmt.Sprintf("%s: user %q %s; set `user` to a numeric non-root uid such as \"10001:10001\"",
			label(r), user, problem)}
	}
	return nil
}

// rootUser explains why a container user is, or may be, root ("" when it is a
// numeric non-zero uid).
func rootUser(user string) string {
	uid, _, _ := strings.Cut(strings.TrimSpace(user), ":")
	switch uid {
	case "":
		return "is empty, so the image's default user (root unless the image says otherwise) runs the process"
	case "root":
		return "is root"
	}
	n, err := strconv.ParseUint(uid, 10, 32)
	switch {
	case err != nil:
		return "is a user name, which cannot be verified to be non-root"
	case n == 0:
		return "is uid 0 (root)"
	}
	return ""
}

// ContainersLeastPrivilege refuses privileged containers, added Linux
// capabilities outside the allow-list, and (outside dev) the host network or
// PID namespace.
func ContainersLeastPrivilege(r policyx.AnalyzerResource, c Context) []string {
	if r.Type != restype.DockerContainer {
		return nil
	}
	var out []string
	if privileged, st := boolAt(r.Properties, "privileged"); st == known && privileged {
		out = append(out, fmt.Sprintf("%s: privileged is true; remove `privileged` and add only the capabilities it needs", label(r)))
	}
	adds, _ := arrayAt(r.Properties, "capabilities", "adds")
	for _, v := range adds {
		if !v.IsString() {
			continue
		}
		capName := NormalizeCapability(v.AsString())
		if !slices.Contains(c.Settings.AllowedCapabilities, capName) {
			out = append(out, fmt.Sprintf("%s: capabilities.adds contains %q, which is not in the allowed list %v; remove it or add it to the policy config `%s`",
				label(r), v.AsString(), c.Settings.AllowedCapabilities, ConfigAllowedCapabilities))
		}
	}
	if !c.Env.Local() {
		for _, key := range []string{"networkMode", "pidMode", "ipcMode", "usernsMode"} {
			if mode, st := stringAt(r.Properties, key); st == known && strings.EqualFold(mode, "host") {
				out = append(out, fmt.Sprintf("%s: %s is %q in %s; use a user-defined bridge network and the container's own namespace (host namespaces are allowed in dev only)",
					label(r), key, mode, c.Env))
			}
		}
	}
	return out
}

// ContainersReadOnlyRoot requires a read-only root filesystem (`readOnly`
// true); writable paths belong on volumes or tmpfs mounts.
func ContainersReadOnlyRoot(r policyx.AnalyzerResource, _ Context) []string {
	if r.Type != restype.DockerContainer {
		return nil
	}
	ro, st := boolAt(r.Properties, "readOnly")
	if st == unknown || ro {
		return nil
	}
	return []string{fmt.Sprintf("%s: readOnly is %v; set `readOnly: true` and mount writable paths as volumes or `tmpfs`",
		label(r), ro)}
}
