package rules

import "testing"

// FuzzEffectiveUser: any Dockerfile text, build arg and target either
// resolves or returns an error; the parser never panics the policy pack.
func FuzzEffectiveUser(f *testing.F) {
	f.Add("FROM debian\nUSER 10001\n", "UID", "0", "")
	f.Add("ARG B=debian\nFROM ${B} AS a\nARG UID=1\nUSER ${UID}:${UID}\nFROM a\n", "B", "x", "a")
	f.Add("# escape=`\nFROM debian\nENV U=5\nUSER `$U\n", "", "", "")
	f.Add("FROM scratch\nUSER ${UNSET:-root}\n", "UNSET", "", "nope")
	f.Add("FROM a AS b\nFROM b AS a\nUSER root\n", "", "", "b")
	f.Fuzz(func(t *testing.T, dockerfile, argName, argValue, target string) {
		u, err := EffectiveUser([]byte(dockerfile), map[string]string{argName: argValue}, target)
		if err == nil && u.Stage == "" {
			t.Errorf("resolved without naming the stage: %+v", u)
		}
	})
}
