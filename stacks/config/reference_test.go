package config

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/internal/stacktest"
)

// refTable is one table of README.md's configuration reference: the first
// table under a "### `helloagents:<key>`" heading.
type refTable struct {
	key    string
	header []string
	rows   [][]string
}

// column returns the index of the first header starting with name, or -1.
func (t refTable) column(name string) int {
	return slices.IndexFunc(t.header, func(h string) bool { return strings.HasPrefix(h, name) })
}

// readReference reads the tables of the README's "Configuration reference"
// section, keyed by config key, and the keys of the secrets table.
func readReference(t *testing.T) (map[string]refTable, []string) {
	t.Helper()
	section := readmeSection(t, "Configuration reference")
	// "####": an object inside another (helloagents:backend.canary).
	heading := regexp.MustCompile("^####? `" + Namespace + ":([\\w.]+)`")
	secretRow := regexp.MustCompile("^\\| `" + Namespace + ":(\\w+)` \\|")
	tables := map[string]refTable{}
	var secrets []string
	var cur *refTable
	for line := range strings.Lines(section) {
		line = strings.TrimSpace(line)
		if m := heading.FindStringSubmatch(line); m != nil {
			cur = &refTable{key: m[1]}
			continue
		}
		if m := secretRow.FindStringSubmatch(line); m != nil {
			secrets = append(secrets, m[1])
			continue
		}
		if cur == nil || !strings.HasPrefix(line, "|") {
			if cur != nil && cur.header != nil {
				tables[cur.key], cur = *cur, nil
			}
			continue
		}
		cells := stacktest.SplitRow(line)
		switch {
		case cur.header == nil:
			cur.header = cells
		case strings.HasPrefix(cells[0], "---"):
		default:
			cur.rows = append(cur.rows, cells)
		}
	}
	if cur != nil && cur.header != nil {
		tables[cur.key] = *cur
	}
	return tables, secrets
}

// referenceFields maps each object key to the type its stack-file fields
// decode into, and reads its value out of a Config.
func referenceFields() map[string]func(Config) reflect.Value {
	return map[string]func(Config) reflect.Value{
		KeyRegions:     nil, // a list: its defaults are prose
		KeyHealthCheck: func(c Config) reflect.Value { return reflect.ValueOf(c.HealthCheck) },
		KeyBackend:     func(c Config) reflect.Value { return reflect.ValueOf(c.Backend) },
		KeyDatabase:    func(c Config) reflect.Value { return reflect.ValueOf(c.Database) },
		KeyBackup:      func(c Config) reflect.Value { return reflect.ValueOf(c.Backup) },
		KeyFrontend:    func(c Config) reflect.Value { return reflect.ValueOf(c.Frontend) },
		KeyEdge:        func(c Config) reflect.Value { return reflect.ValueOf(c.Edge) },
		KeyAlerts:      func(c Config) reflect.Value { return reflect.ValueOf(c.Alerts) },
		KeySLO:         func(c Config) reflect.Value { return reflect.ValueOf(c.SLO) },
		KeyMonitoring:  func(c Config) reflect.Value { return reflect.ValueOf(c.Monitoring) },
		keyCanary:      func(c Config) reflect.Value { return reflect.ValueOf(canaryOf(c)) },
	}
}

// keyCanary is the reference's heading of the object inside backend.
var keyCanary = KeyBackend + "." + KeyCanary

// canaryOf is c's canary, or the one an empty helloagents:backend.canary
// object gives (the defaults the README states).
func canaryOf(c Config) Canary {
	if c.Backend.Canary != nil {
		return *c.Backend.Canary
	}
	c.Backend.Canary = new(Canary)
	c.Backend.Canary.setDefaults()
	new(decoder).deriveCanary(&c)
	return *c.Backend.Canary
}

// fieldTypes are the stack-file forms of the objects, for their field names.
func fieldTypes() map[string]reflect.Type {
	return map[string]reflect.Type{
		KeyRegions: reflect.TypeFor[Region](), KeyHealthCheck: reflect.TypeFor[healthCheckJSON](),
		KeyBackend: reflect.TypeFor[Backend](), KeyDatabase: reflect.TypeFor[Database](),
		KeyBackup: reflect.TypeFor[Backup](), KeyFrontend: reflect.TypeFor[Frontend](),
		KeyEdge: reflect.TypeFor[Edge](), KeyAlerts: reflect.TypeFor[Alerts](),
		KeySLO: reflect.TypeFor[SLO](), KeyMonitoring: reflect.TypeFor[Monitoring](),
		keyCanary: reflect.TypeFor[Canary](),
	}
}

// TestReferenceDocumentsEveryKey: every key the program reads has a section
// (or a secrets row) in the README, every object field a row, and nothing
// documented is unknown to the program.
func TestReferenceDocumentsEveryKey(t *testing.T) {
	tables, secrets := readReference(t)
	var documented []string
	for key := range tables {
		if !strings.Contains(key, ".") { // an object inside another is a field of it
			documented = append(documented, key)
		}
	}
	documented = append(documented, secrets...)
	if got, want := sortedSet(documented), sortedSet(Keys()); !slices.Equal(got, want) {
		t.Errorf("documented keys %v, program keys %v", got, want)
	}
	if got, want := sortedSet(secrets), sortedSet(SecretKeys()); !slices.Equal(got, want) {
		t.Errorf("secrets table %v, secret keys %v", got, want)
	}
	for key, typ := range fieldTypes() {
		var fields []string
		for _, row := range tables[key].rows {
			fields = append(fields, strings.Trim(row[0], "`"))
		}
		if got, want := sortedSet(fields), sortedSet(fieldNames(typ)); !slices.Equal(got, want) {
			t.Errorf("%s: documented fields %v, program fields %v", FullKey(key), got, want)
		}
	}
}

func sortedSet(s []string) []string { return slices.Compact(slices.Sorted(slices.Values(s))) }

// TestReferenceDefaults: each default the README states as a value (a code
// span or a number, with "(dev X, production Y)" exceptions) is what
// Defaults gives in every environment, and each value in a dev / staging /
// production column is what the committed stack file parses to. Cells in
// prose ("required", "unix socket", "same") are not values and are skipped.
func TestReferenceDefaults(t *testing.T) {
	tables, _ := readReference(t)
	committed := map[Environment]Config{}
	for _, env := range []Environment{Dev, Staging, Production} {
		c, err := Parse(string(env), stackRaw(t, string(env)))
		if err != nil {
			t.Fatal(err)
		}
		committed[env] = c
	}
	checked := 0
	for key, get := range referenceFields() {
		if get == nil {
			continue
		}
		tab := tables[key]
		for _, row := range tab.rows {
			field := strings.Trim(row[0], "`")
			if col := tab.column("default"); col >= 0 {
				checked += checkDefault(t, key, field, row[col], get)
			}
			for _, env := range []Environment{Dev, Staging, Production} {
				if col := tab.column(string(env)); col >= 0 && col < len(row) {
					if doc, ok := docValue(row[col], string(env)); ok {
						checked++
						if got := fieldValue(get(committed[env]), field); !sameValue(got, doc) {
							t.Errorf("%s.%s in the %s column: README says %q, Pulumi.%s.yaml gives %q",
								FullKey(key), field, env, doc, env, render(got))
						}
					}
				}
			}
		}
	}
	t.Logf("%d documented values checked", checked)
}

// checkDefault compares one default cell with Defaults in each environment
// and returns how many values it checked.
func checkDefault(t *testing.T, key, field, cell string, get func(Config) reflect.Value) int {
	t.Helper()
	const stack = "<stack>" // the README's placeholder for the stack name
	base, ok := docValue(cell, stack)
	if !ok {
		return 0
	}
	per := exceptions(cell, stack)
	n := 0
	for _, env := range []Environment{Dev, Staging, Production} {
		want := base
		if v, ok := per[env]; ok {
			want = v
		}
		got := fieldValue(get(Defaults(stack, env)), field)
		if !sameValue(got, want) {
			t.Errorf("%s.%s default in %s: README says %q, Defaults gives %q", FullKey(key), field, env, want, render(got))
		}
		n++
	}
	return n
}

var (
	leadingValue = regexp.MustCompile("^(?:`([^`]*)`|(-?[0-9][0-9.]*))(.*)$")
	exception    = regexp.MustCompile("^(dev|staging|production) (?:`([^`]*)`|(\\S+))$")
)

// docValue reads a cell that is a value: one code span or number, alone or
// followed by a parenthesised note. Placeholders other than <stack> (which
// becomes stack) make the cell prose.
func docValue(cell, stack string) (string, bool) {
	m := leadingValue.FindStringSubmatch(cell)
	if m == nil {
		return "", false
	}
	rest := strings.TrimSpace(m[3])
	if rest != "" && (!strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")")) {
		return "", false
	}
	v := strings.ReplaceAll(m[1]+m[2], "<stack>", stack)
	if strings.Contains(v, "<") {
		return "", false
	}
	return v, true
}

// exceptions reads "(dev 256)" or "(dev `@hourly`, production 4)" after a
// default; any other note is not about environments.
func exceptions(cell, stack string) map[Environment]string {
	open := strings.Index(cell, "(")
	if open < 0 || !strings.HasSuffix(cell, ")") {
		return nil
	}
	per := map[Environment]string{}
	for part := range strings.SplitSeq(cell[open+1:len(cell)-1], ", ") {
		m := exception.FindStringSubmatch(part)
		if m == nil {
			return nil
		}
		per[Environment(m[1])] = strings.ReplaceAll(m[2]+m[3], "<stack>", stack)
	}
	return per
}

// fieldValue is the field of v whose stack-file name is name: its JSON tag,
// or for the untagged health-check settings its Go name.
func fieldValue(v reflect.Value, name string) reflect.Value {
	if i := fieldIndex(v.Type(), name); i >= 0 {
		return v.Field(i)
	}
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	return v.FieldByName(string(r))
}

// render writes v as the README does: strings bare, durations as Go
// durations, numbers shortest, lists as compact JSON.
func render(v reflect.Value) string {
	if !v.IsValid() {
		return "<no such field>"
	}
	if d, ok := v.Interface().(time.Duration); ok {
		return contract.FormatDuration(d)
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'f', -1, 64)
	case reflect.Slice:
		if v.Len() == 0 {
			return "[]"
		}
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return string(b)
}

// sameValue compares a field with a documented value, which may also write
// a string quoted ("1.2") or a one-element list as its element.
func sameValue(v reflect.Value, doc string) bool {
	got := render(v)
	if got == doc || strings.ReplaceAll(doc, ", ", ",") == got {
		return true
	}
	if v.IsValid() && v.Kind() == reflect.String {
		q, _ := json.Marshal(v.String())
		return string(q) == doc
	}
	return v.IsValid() && v.Kind() == reflect.Slice && v.Len() == 1 && render(v.Index(0)) == doc
}

// rangeRule is a rules cell that starts with a whole-number range "1..10"
// or a lower bound "≥ 1".
var rangeRule = regexp.MustCompile(`^(?:(\d+)\.\.(\d+)|≥ (\d+)(?:$|[ ;,]))`)

// TestReferenceRanges: each whole-number range the README's rules column
// states is the one validation enforces: its bounds are accepted and the
// numbers just outside them are refused, naming the field.
func TestReferenceRanges(t *testing.T) {
	tables, _ := readReference(t)
	checked := 0
	for key, typ := range fieldTypes() {
		tab := tables[key]
		col := tab.column("rules")
		if col < 0 || key == KeyRegions {
			continue
		}
		for _, row := range tab.rows {
			field := strings.Trim(row[0], "`")
			m := rangeRule.FindStringSubmatch(row[col])
			if m == nil || !isInt(typ.Field(fieldIndex(typ, field)).Type) {
				continue
			}
			lo, _ := strconv.Atoi(m[1] + m[3])
			ok, bad := []int{lo}, []int{lo - 1}
			if m[2] != "" {
				hi, _ := strconv.Atoi(m[2])
				ok, bad = append(ok, hi), append(bad, hi+1)
			}
			for _, v := range ok {
				if envs := refusing(t, key, field, v); len(envs) > 0 {
					t.Errorf("%s.%s: README allows %d (%q), validation refuses it in %v", FullKey(key), field, v, row[col], envs)
				}
			}
			for _, v := range bad {
				if envs := refusing(t, key, field, v); len(envs) == 0 {
					t.Errorf("%s.%s: README refuses %d (%q), validation accepts it everywhere", FullKey(key), field, v, row[col])
				}
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no range found in the rules columns")
	}
	t.Logf("%d ranges checked", checked)
}

// isInt reports whether a field holds a whole number (*int: optional).
func isInt(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Int
}

// refusing returns the committed stacks whose config, with field of key set
// to v, fails validation naming that field and value.
func refusing(t *testing.T, key, field string, v int) []Environment {
	t.Helper()
	var envs []Environment
	for _, env := range []Environment{Dev, Staging, Production} {
		raw := stackRaw(t, string(env))
		top, inner, nested := strings.Cut(key, ".")
		obj := map[string]any{}
		if text, ok := raw[FullKey(top)]; ok {
			if err := json.Unmarshal([]byte(text), &obj); err != nil {
				t.Fatalf("%s in Pulumi.%s.yaml: %v", FullKey(top), env, err)
			}
		}
		if nested {
			in, _ := obj[inner].(map[string]any)
			if in == nil {
				in = map[string]any{}
			}
			in[field] = v
			obj[inner] = in
		} else {
			obj[field] = v
		}
		text, _ := json.Marshal(obj)
		raw[FullKey(top)] = string(text)
		_, err := Parse(string(env), raw)
		if err != nil && strings.Contains(err.Error(), fmt.Sprintf("%s.%s: invalid value %d", FullKey(key), field, v)) {
			envs = append(envs, env)
		}
	}
	return envs
}

// TestReferenceOutputs: the README's stack outputs table lists exactly the
// outputs the program exports and the tools read (package contract).
func TestReferenceOutputs(t *testing.T) {
	section := readmeSection(t, "Stack outputs")
	row := regexp.MustCompile("^\\| `(\\w+)` \\|")
	var documented []string
	for line := range strings.Lines(section) {
		if m := row.FindStringSubmatch(line); m != nil {
			documented = append(documented, m[1])
		}
	}
	if got, want := sortedSet(documented), contract.Outputs(); !slices.Equal(got, want) {
		t.Errorf("README documents outputs %v, the program exports %v", got, want)
	}
}

// readmeSection is README.md's "## <title>" section.
func readmeSection(t *testing.T, title string) string {
	return stacktest.ReadmeSection(t, filepath.Join("..", "..", "README.md"), title)
}
