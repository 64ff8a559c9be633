package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
)

// decoder lays stack-file JSON over typed values field by field. It matches
// field names exactly (a stack file is case-sensitive everywhere else in
// Pulumi), reports every unknown field with the nearest known name, and
// reports a value of the wrong type by its full key path, the value and the
// type allowed, never in encoding/json's words. A field that fails keeps its
// default, and its path is remembered so validation does not report a false
// follow-on error for it.
type decoder struct {
	errs   []error
	broken []string
	// set are the paths of the fields the stack file set (and that
	// decoded), for defaults that derive from other values when unset.
	set []string
}

func (d *decoder) addf(format string, a ...any) { d.errs = append(d.errs, fmt.Errorf(format, a...)) }

// object decodes text, a JSON object, over the struct into points to; path
// is the object's full key ("helloagents:regions[1]").
func (d *decoder) object(path, text string, into any) {
	v := reflect.ValueOf(into).Elem()
	names := fieldNames(v.Type())
	var fields map[string]json.RawMessage
	if err := decodeJSON(text, &fields); err != nil || fields == nil {
		d.addf("%s: invalid value %s; allowed: an object with the fields %s", path, clip(text), strings.Join(names, ", "))
		d.broken = append(d.broken, path)
		return
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		raw := fields[name]
		i := slices.Index(names, name)
		if i < 0 {
			d.addf("%s.%s: unknown field%s; allowed: %s", path, name, suggest(name, names), strings.Join(names, ", "))
			continue
		}
		if string(bytes.TrimSpace(raw)) == "null" {
			continue // null means "not set": the default stays
		}
		f := v.Field(fieldIndex(v.Type(), name))
		if d.field(path+"."+name, raw, f) {
			continue
		}
		p := reflect.New(f.Type())
		if err := json.Unmarshal(raw, p.Interface()); err != nil {
			d.addf("%s.%s: invalid value %s; allowed: %s", path, name, clipJSON(raw), describe(f.Type()))
			d.broken = append(d.broken, path+"."+name)
			continue
		}
		f.Set(p.Elem())
		d.set = append(d.set, path+"."+name)
	}
}

// defaulter is an optional object (a pointer field) whose fields have
// defaults when the stack file sets the object.
type defaulter interface{ setDefaults() }

// field decodes the fields that are not plain JSON values, and reports
// whether f was one: a duration (a Go duration string, "10m") and an
// optional object (a pointer to a struct, nil when unset), decoded field
// by field like any object, over its defaults.
func (d *decoder) field(path string, raw json.RawMessage, f reflect.Value) bool {
	switch {
	case f.Type() == reflect.TypeFor[time.Duration]():
		var s string
		err := json.Unmarshal(raw, &s)
		dur, perr := time.ParseDuration(s)
		if err != nil || perr != nil {
			d.addf(`%s: invalid value %s; allowed: a duration such as "30s", "10m" or "1h30m"`, path, clipJSON(raw))
			d.broken = append(d.broken, path)
			return true
		}
		f.SetInt(int64(dur))
	case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct:
		p := reflect.New(f.Type().Elem())
		if !f.IsNil() {
			p.Elem().Set(f.Elem())
		} else if def, ok := p.Interface().(defaulter); ok {
			def.setDefaults()
		}
		d.object(path, string(raw), p.Interface())
		if slices.Contains(d.broken, path) {
			return true // not an object: stays unset
		}
		f.Set(p)
	default:
		return false
	}
	d.set = append(d.set, path)
	return true
}

// isSet reports whether the stack file set the field at path.
func (d *decoder) isSet(path string) bool { return slices.Contains(d.set, path) }

// list decodes text, a JSON list, into its items' raw texts.
func (d *decoder) list(path, text, allowed string) []json.RawMessage {
	var items []json.RawMessage
	if err := decodeJSON(text, &items); err != nil {
		d.addf("%s: invalid value %s; allowed: %s", path, clip(text), allowed)
		d.broken = append(d.broken, path)
		return nil
	}
	return items
}

// followOn reports whether err, a validation error "key: ...", is about a
// key whose value already failed to decode.
func (d *decoder) followOn(err error) bool {
	key, _, _ := strings.Cut(err.Error(), ": ")
	// The namespace separator is ':' too: "helloagents:regions[0].name".
	for _, b := range d.broken {
		if key == b || strings.HasPrefix(key, b+".") || strings.HasPrefix(key, b+"[") {
			return true
		}
	}
	return false
}

// decodeJSON decodes exactly one JSON value (no trailing data).
func decodeJSON(text string, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// fieldNames returns the JSON names of t's fields in declaration order.
func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := jsonName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func fieldIndex(t reflect.Type, name string) int {
	for i := range t.NumField() {
		if jsonName(t.Field(i)) == name {
			return i
		}
	}
	return -1
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// describe says in the stack file's words what a field of type t holds.
func describe(t reflect.Type) string {
	if t == reflect.TypeFor[time.Duration]() {
		return `a duration such as "30s", "10m" or "1h30m"`
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describe(t.Elem())
	case reflect.String:
		return `a string (in quotes if it looks like a number: "1.2")`
	case reflect.Int:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		switch t.Elem().Kind() {
		case reflect.String:
			return `a list of strings, e.g. ["a", "b"]`
		case reflect.Int:
			return "a list of whole numbers, e.g. [200, 204]"
		}
	}
	return t.String()
}

// suggest returns ` (did you mean "x"?)` for the known name nearest to name,
// or "" when none is close enough to be a likely typo.
func suggest(name string, known []string) string {
	best, bestDist := "", -1
	for _, k := range known {
		d := levenshtein(strings.ToLower(name), strings.ToLower(k))
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist < 0 || bestDist > max(2, len(name)/3) {
		return ""
	}
	return fmt.Sprintf(" (did you mean `%s`?)", best)
}

// levenshtein is the edit distance (insertions, deletions, substitutions)
// between a and b, over bytes: config names are ASCII.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// clipJSON shows a JSON value as the stack file has it ("two", 1.5, [..]),
// shortened like clip.
func clipJSON(raw json.RawMessage) string {
	const limit = 80
	s := string(bytes.TrimSpace(raw))
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return s
}
