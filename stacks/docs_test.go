package stacks

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/stacks/config"
)

// TestDocsMatchTheCode checks every command and Docker name quoted in
// README.md and docs/*.md (code spans and code blocks only) against what
// exists: container, volume and network names against a mock render of the
// dev, staging and production stacks; helloagents.* label values against
// the labels the render stamps; `go run ./infra/X` against the commands
// and their --help; `make X` against the Makefile's targets. Add a row to
// docChecks for a new kind of quoted claim.
func TestDocsMatchTheCode(t *testing.T) {
	w := newDocWorld(t)
	segs := docSegments(t)
	w.created = createdNames(segs)
	t.Run("docs", func(t *testing.T) {
		checked := map[string]int{}
		for _, s := range segs {
			for _, p := range w.problems(s.text, checked) {
				t.Errorf("%s:%d: %s\n\tin: %s", s.file, s.line, p, s.text)
			}
		}
		t.Logf("claims checked: %v", checked)
	})
	// Every extractor finds and refuses the kind of mistake it is for (the
	// docs had each of these), and accepts the right spelling.
	t.Run("extractors", func(t *testing.T) {
		for _, tc := range []struct {
			segment string
			bad     bool
		}{
			{"docker stop helloagents-production-eu-west-backend-0", true},
			{"helloagents-<stack>[-<region>]-backend-<fingerprint>-<i>", false},
			{"<prefix>-backend-<i>", true},
			{"docker logs helloagents-dev-postgres", false},
			{"docker rm -f $(docker ps -q --filter name=helloagents-dev-backend-0)", true},
			{"docker ps -q --filter name=helloagents-dev-backend-", false},
			{`docker stop $(docker ps --format '{{.Names}}' | grep "^backend-$R-")`, true},
			{`docker ps --format '{{.Names}}' | grep "^helloagents-$S-"`, false},
			{"R=<region>  P=db-$R-postgres", true},
			{"P=$(ROLE=postgres role)", false},
			{"docker ps --filter label=helloagents.role=database", true},
			{"docker ps --filter label=helloagents.role=pgbackrest", false},
			{"B=$(ROLE=backups role)", true},
			{"go run ./infra/rollback --to production", true},
			{"go run ./infra/promote --to production --revert", true},
			{`go run ./infra/promote --to production --rollback --yes | tee "$(pulumi stack output --stack x)"`, false},
			{"make deploy", true},
			{"make test-quick", false},
		} {
			checked := map[string]int{}
			if p := w.problems(tc.segment, checked); (len(p) > 0) != tc.bad || len(checked) == 0 {
				t.Errorf("%s: problems %q (%d claims found), want bad: %v", tc.segment, p, len(checked), tc.bad)
			}
		}
	})
}

// problems runs every check over one code segment, counting the claims
// found by kind.
func (w *docWorld) problems(segment string, checked map[string]int) []string {
	var out []string
	for _, c := range docChecks {
		for _, m := range c.re.FindAllStringSubmatch(segment, -1) {
			checked[c.what]++
			if err := c.check(w, m, segment); err != nil {
				out = append(out, fmt.Sprintf("%s %q: %v", c.what, strings.TrimSpace(m[0]), err))
			}
		}
	}
	return out
}

// docCheck extracts one kind of claim from a code segment and checks it.
// Container variables are the drills' B (backup job) and P (Postgres).
type docCheck struct {
	what  string
	re    *regexp.Regexp
	check func(w *docWorld, m []string, segment string) error
}

var docChecks = []docCheck{
	{"Docker name", regexp.MustCompile(`(?:\bhelloagents-(?:dev|staging|production|<stack>)|<prefix>)(?:[-\[][A-Za-z0-9<>\[\]$.{}…_-]*)?`),
		func(w *docWorld, m []string, _ string) error { return w.name(strings.TrimRight(m[0], ".-"), false) }},
	{"docker name filter", regexp.MustCompile(`--filter[ =]name=([^\s)"']+)`),
		func(w *docWorld, m []string, _ string) error { return w.name(m[1], true) }},
	{"docker ps name grep", regexp.MustCompile(`docker ps[^|]*\|\s*grep\s+["']\^([^"']+)["']`),
		func(w *docWorld, m []string, _ string) error { return w.name(m[1], true) }},
	{"container variable", regexp.MustCompile(`(?:^|\s)[BP]=([a-z<][^\s()]*|\$[A-Za-z{][^\s()]*)`),
		func(w *docWorld, m []string, _ string) error { return w.name(m[1], false) }},
	{"label", regexp.MustCompile(`label=helloagents\.(role|stack|region)=([^\s)"';]+)`),
		func(w *docWorld, m []string, _ string) error { return w.label(m[1], m[2]) }},
	{"role variable", regexp.MustCompile(`\bROLE=([a-z]+)`),
		func(w *docWorld, m []string, _ string) error { return w.label("role", m[1]) }},
	{"infra command", regexp.MustCompile(`go run \./infra/([a-z]+)`),
		func(w *docWorld, m []string, seg string) error { return w.command(m[1], seg) }},
	{"make target", regexp.MustCompile(`(?:^|[\s;&(])make ([a-z][a-z-]*)`),
		func(w *docWorld, m []string, _ string) error { return w.target(m[1]) }},
}

// docWorld is what exists: the rendered names and labels, the commands
// and their flags, the Makefile's targets.
type docWorld struct {
	names   []string
	labels  map[string][]string // role, stack, region -> values
	flags   map[string][]string // infra command -> its flags
	targets []string
	// created are names the docs' own commands create (docker run --name,
	// docker volume create): they exist once the reader ran that step.
	created []string
}

func newDocWorld(t *testing.T) *docWorld {
	t.Helper()
	w := &docWorld{labels: map[string][]string{}, flags: map[string][]string{}}
	for _, stack := range []string{"dev", "staging", "production"} {
		cfg, err := config.Parse(stack, stackRaw(t, stack))
		if err != nil {
			t.Fatalf("%s: %v", stack, err)
		}
		for _, r := range runConfig(t, cfg).Resources() {
			if !strings.HasPrefix(r.Type, "docker:") || r.Type == "docker:index/remoteImage:RemoteImage" {
				continue
			}
			if n := r.Inputs["name"]; n.IsString() {
				w.names = append(w.names, n.StringValue())
			}
			w.addLabels(r.Inputs["labels"])
		}
	}
	w.targets = makeTargets(t)
	w.flags = commandFlags(t)
	return w
}

// addLabels records the helloagents.* label values of one container.
func (w *docWorld) addLabels(v resource.PropertyValue) {
	if !v.IsArray() {
		return
	}
	for _, l := range v.ArrayValue() {
		if !l.IsObject() {
			continue
		}
		key, val := l.ObjectValue()["label"], l.ObjectValue()["value"]
		if !key.IsString() || !val.IsString() {
			continue
		}
		for _, k := range []string{labels.Role, labels.Stack, labels.Region} {
			short := strings.TrimPrefix(k, "helloagents.")
			if key.StringValue() == k && !slices.Contains(w.labels[short], val.StringValue()) {
				w.labels[short] = append(w.labels[short], val.StringValue())
			}
		}
	}
}

// placeholders turns the docs' name notation into regular expressions.
var placeholders = []struct{ from, to string }{
	{"<prefix>", `helloagents-(?:dev|staging|production)(?:-[a-z0-9-]+)?`},
	{"[-<region>]", `(?:-[a-z0-9-]+)?`},
	{"<stack>", `(?:dev|staging|production)`},
	{"<region>", `[a-z0-9-]+`},
	{"<fingerprint>", `[0-9a-f]+`},
	{"<i>", `[0-9]+`},
	{"…", `.*`},
	{"...", `.*`},
}

var (
	// wholeVariable is a quoted name that is only a placeholder or a shell
	// variable: nothing to compare.
	wholeVariable = regexp.MustCompile(`^(?:<[a-z. ]+>|\$\{?[A-Za-z_]+\}?)$`)
	// quotedPlaceholder is any other placeholder after regexp.QuoteMeta.
	quotedPlaceholder = regexp.MustCompile(`<[a-z\\. ]+>|\\\$(?:\\\{)?[A-Za-z_]+(?:\\\})?`)
)

// pattern compiles a quoted name: whole (a full Docker name, or a prefix
// of one ending at a "-") or, for name filters, the start of one.
func pattern(quoted string, start bool) *regexp.Regexp {
	p := regexp.QuoteMeta(quoted)
	for _, ph := range placeholders {
		p = strings.ReplaceAll(p, regexp.QuoteMeta(ph.from), ph.to)
	}
	p = quotedPlaceholder.ReplaceAllString(p, `[^ ]+`)
	if start {
		return regexp.MustCompile("^" + p)
	}
	return regexp.MustCompile("^" + p + "(?:-.+)?$")
}

func (w *docWorld) name(quoted string, start bool) error {
	if wholeVariable.MatchString(quoted) || slices.Contains(w.created, quoted) {
		return nil
	}
	re := pattern(quoted, start)
	if slices.ContainsFunc(w.names, re.MatchString) {
		return nil
	}
	return fmt.Errorf("no container, volume or network the stacks create is named like that (%s); real names: %s",
		re, strings.Join(w.sample(), ", "))
}

// sample lists some real names for the error message.
func (w *docWorld) sample() []string {
	var out []string
	for _, n := range w.names {
		if strings.HasPrefix(n, "helloagents-dev-") {
			out = append(out, n)
		}
	}
	return out
}

func (w *docWorld) label(key, value string) error {
	if strings.HasPrefix(value, "$") || strings.HasPrefix(value, "<") || strings.HasSuffix(value, "…") {
		return nil
	}
	if !slices.Contains(w.labels[key], value) {
		return fmt.Errorf("no container carries helloagents.%s=%s; the stacks use: %s", key, value, strings.Join(w.labels[key], ", "))
	}
	return nil
}

// flagToken finds --flag tokens; a command's own ones stop at a pipe,
// a redirect, a command list, or a command substitution.
var (
	flagToken    = regexp.MustCompile(`(?:^|\s)--([a-z][a-z0-9-]*)`)
	substitution = regexp.MustCompile(`\$\([^)]*\)`)
)

func (w *docWorld) command(name, seg string) error {
	flags, ok := w.flags[name]
	if !ok {
		return fmt.Errorf("there is no command ./infra/%s; commands: %s", name, strings.Join(sortedKeys(w.flags), ", "))
	}
	rest := seg[strings.Index(seg, "go run ./infra/"+name)+len("go run ./infra/"+name):]
	rest = substitution.ReplaceAllString(rest, "")
	if i := strings.IndexAny(rest, "|;&>`("); i >= 0 {
		rest = rest[:i]
	}
	var bad []string
	for _, m := range flagToken.FindAllStringSubmatch(rest, -1) {
		if !slices.Contains(flags, m[1]) {
			bad = append(bad, "--"+m[1])
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("./infra/%s has no flag %s; its flags: --%s", name, strings.Join(bad, ", "), strings.Join(flags, ", --"))
	}
	return nil
}

func (w *docWorld) target(name string) error {
	if !slices.Contains(w.targets, name) {
		return fmt.Errorf("the Makefile has no target %q; targets: %s", name, strings.Join(w.targets, ", "))
	}
	return nil
}

func sortedKeys(m map[string][]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

// makeTargets reads the rule names of the Makefile.
func makeTargets(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	rule := regexp.MustCompile(`(?m)^([a-z][a-z-]*)\s*:([^=]|$)`)
	var out []string
	for _, m := range rule.FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

// commandFlags builds every command under infra/ and reads its flags
// from its --help (each listed as "  --name").
func commandFlags(t *testing.T) map[string][]string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("..", "infra", "*", "main.go"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no commands under infra/: %v", err)
	}
	bin := t.TempDir()
	args := []string{"build", "-o", bin + string(filepath.Separator)}
	for _, d := range dirs {
		args = append(args, "./"+filepath.ToSlash(filepath.Dir(strings.TrimPrefix(d, ".."+string(filepath.Separator)))))
	}
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	listed := regexp.MustCompile(`(?m)^\s+--([a-z][a-z0-9-]*)`)
	flags := map[string][]string{}
	for _, d := range dirs {
		name := filepath.Base(filepath.Dir(d))
		out, err := exec.CommandContext(t.Context(), filepath.Join(bin, name), "--help").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --help: %v\n%s", name, err, out)
		}
		flags[name] = []string{"help"}
		for _, m := range listed.FindAllStringSubmatch(string(out), -1) {
			flags[name] = append(flags[name], m[1])
		}
	}
	return flags
}

// docSegment is one piece of code quoted in the docs: a logical line of
// a code block (continuation lines joined, comments dropped) or an
// inline code span.
type docSegment struct {
	file string
	line int
	text string
}

var inlineCode = regexp.MustCompile("`([^`]+)`")

func docSegments(t *testing.T) []docSegment {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	var segs []docSegment
	for _, f := range append([]string{filepath.Join("..", "README.md")}, files...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, segmentsOf(filepath.Base(f), b)...)
	}
	return segs
}

// segmentsOf splits one Markdown file into code segments.
func segmentsOf(file string, b []byte) []docSegment {
	var segs []docSegment
	var prose strings.Builder
	proseStart, fenced, pending, pendingLine := 1, false, "", 0
	flushProse := func() {
		for _, loc := range inlineCode.FindAllStringSubmatchIndex(prose.String(), -1) {
			line := proseStart + strings.Count(prose.String()[:loc[0]], "\n")
			segs = append(segs, docSegment{file, line, strings.ReplaceAll(prose.String()[loc[2]:loc[3]], "\n", " ")})
		}
		prose.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			if !fenced {
				flushProse()
			}
			fenced = !fenced
			proseStart = n + 1
			continue
		}
		if !fenced {
			prose.WriteString(l + "\n")
			continue
		}
		if i := strings.Index(l, " #"); i >= 0 {
			l = l[:i]
		}
		if pending == "" {
			pendingLine = n
		}
		if strings.HasSuffix(strings.TrimSpace(l), `\`) {
			pending += strings.TrimSuffix(strings.TrimSpace(l), `\`) + " "
			continue
		}
		segs = append(segs, docSegment{file, pendingLine, pending + l})
		pending = ""
	}
	flushProse()
	return segs
}

// createdNames are the names the docs' commands create themselves.
func createdNames(segs []docSegment) []string {
	create := regexp.MustCompile(`docker (?:volume create|run [^|;]*--name) ([^\s]+)`)
	var out []string
	for _, s := range segs {
		for _, m := range create.FindAllStringSubmatch(s.text, -1) {
			out = append(out, m[1])
		}
	}
	return out
}
