package rules

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// state says whether a property is absent (or null), present but not known
// yet (computed during a preview), or known.
type state int

const (
	absent state = iota
	unknown
	known
)

// at walks nested object keys.
func at(m property.Map, path ...string) (property.Value, state) {
	var v property.Value
	for i, key := range path {
		got, ok := m.GetOk(key)
		if !ok || got.IsNull() {
			return property.Value{}, absent
		}
		if got.IsComputed() {
			return got, unknown
		}
		v = got
		if i < len(path)-1 {
			if !v.IsMap() {
				return property.Value{}, absent
			}
			m = v.AsMap()
		}
	}
	return v, known
}

func stringAt(m property.Map, path ...string) (string, state) {
	v, st := at(m, path...)
	if st != known {
		return "", st
	}
	if v.IsString() {
		return v.AsString(), known
	}
	if v.IsNumber() {
		return fmt.Sprint(v.AsNumber()), known
	}
	if v.IsBool() {
		return fmt.Sprint(v.AsBool()), known
	}
	return "", absent
}

func boolAt(m property.Map, path ...string) (bool, state) {
	v, st := at(m, path...)
	if st != known {
		return false, st
	}
	if v.IsBool() {
		return v.AsBool(), known
	}
	if v.IsString() {
		return v.AsString() == "true", known
	}
	return false, absent
}

// arrayAt returns the elements of a list property; a whole list that is not
// known yet reports unknown.
func arrayAt(m property.Map, path ...string) ([]property.Value, state) {
	v, st := at(m, path...)
	if st != known {
		return nil, st
	}
	if !v.IsArray() {
		return nil, absent
	}
	return v.AsArray().AsSlice(), known
}

// label names a resource in a message: its type token and logical name.
func label(r policyx.AnalyzerResource) string {
	return fmt.Sprintf("%s %q", r.Type, r.Name)
}

// envEntry is one "KEY=VALUE" entry of a container's `envs`, with whether the
// entry (or the list holding it) is a Pulumi secret.
type envEntry struct {
	Key, Value string
	Known      bool
	Secret     bool
}

// containerEnv decodes a docker Container's `envs`. Entries whose value is not
// known yet are returned with Known false (and no key when the key is not
// known either).
func containerEnv(r policyx.AnalyzerResource) []envEntry {
	whole, st := at(r.Properties, "envs")
	if st == unknown {
		return nil
	}
	list, _ := arrayAt(r.Properties, "envs")
	var out []envEntry
	for _, v := range list {
		secret := v.Secret() || whole.Secret()
		if v.IsComputed() || !v.IsString() {
			out = append(out, envEntry{Secret: secret})
			continue
		}
		key, value, _ := strings.Cut(v.AsString(), "=")
		out = append(out, envEntry{Key: key, Value: value, Known: true, Secret: secret})
	}
	return out
}

// envValue returns a container's env value for key (the last entry wins, as
// in Docker).
func envValue(r policyx.AnalyzerResource, key string) (envEntry, bool) {
	var found envEntry
	ok := false
	for _, e := range containerEnv(r) {
		if e.Known && e.Key == key {
			found, ok = e, true
		}
	}
	return found, ok
}

func numberAt(m property.Map, path ...string) (float64, state) {
	v, st := at(m, path...)
	if st != known {
		return 0, st
	}
	if v.IsNumber() {
		return v.AsNumber(), known
	}
	return 0, absent
}
