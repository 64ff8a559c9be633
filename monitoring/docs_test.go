package monitoring

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// docsPath is RunbookDoc from this package's directory.
var docsPath = filepath.Join("..", filepath.FromSlash(RunbookDoc))

// slug is GitHub's anchor of a Markdown heading: lower case, punctuation
// other than '-' and '_' dropped, spaces turned into '-'.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

var heading = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*$`)

// docHeadings returns the anchors of every heading of the document and the
// level-3 headings of its "SLOs and alerts" section.
func docHeadings(t *testing.T) (anchors map[string]bool, alertSections []string) {
	t.Helper()
	f, err := os.Open(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	anchors = map[string]bool{}
	in, fence := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fence = !fence
		}
		m := heading.FindStringSubmatch(line)
		if fence || m == nil {
			continue
		}
		anchors[slug(m[2])] = true
		switch level := len(m[1]); {
		case level == 2:
			in = m[2] == "SLOs and alerts"
		case level == 3 && in && strings.HasPrefix(m[2], "HelloAgents"):
			alertSections = append(alertSections, m[2])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return anchors, alertSections
}

// TestDocsAlerts: docs/MONITORING.md's "SLOs and alerts" has one section per
// alert of the rendered rules, named as the alert, and no other; every
// runbook annotation of the rendered file points at an anchor of the page.
func TestDocsAlerts(t *testing.T) {
	anchors, sections := docHeadings(t)
	for _, v := range ruleVariants {
		t.Run(v.name, func(t *testing.T) {
			names := AlertNames(v.args)
			got := slices.Sorted(slices.Values(sections))
			if !slices.Equal(got, names) {
				t.Errorf("alert sections of %s: %v\nalerts of the rules: %v", RunbookDoc, got, names)
			}
			if len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Errorf("an alert has two sections in %s: %v", RunbookDoc, got)
			}

			out, err := Rules(v.args)
			if err != nil {
				t.Fatal(err)
			}
			var f ruleFile
			if err := yaml.Unmarshal(out, &f); err != nil {
				t.Fatal(err)
			}
			for _, g := range f.Groups {
				for _, r := range g.Rules {
					if r.Alert == "" {
						continue
					}
					doc, anchor, ok := strings.Cut(r.Annotations["runbook"], "#")
					if !ok || doc != RunbookDoc || !anchors[anchor] {
						t.Errorf("%s: runbook %q is not an anchor of %s", r.Alert, r.Annotations["runbook"], RunbookDoc)
					}
				}
			}
		})
	}
}

// TestDocsLinks: every in-page link of docs/MONITORING.md lands on a
// heading (the alert sections link to each other).
func TestDocsLinks(t *testing.T) {
	anchors, _ := docHeadings(t)
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(doc), -1) {
		if !anchors[m[1]] {
			t.Errorf("link to #%s: no such heading in %s", m[1], RunbookDoc)
		}
	}
}

// TestDocsDefaults: the numbers the page quotes are the package's.
func TestDocsDefaults(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	s := DefaultSLO()
	// The page words the thresholds in minutes (line breaks as spaces).
	text := strings.Join(strings.Fields(string(doc)), " ")
	for _, c := range []struct {
		value  time.Duration
		phrase string
	}{
		{DefaultWALArchiveMaxAge, "archive more than %d minutes ago"},
		{DefaultStandbyMaxLag, "replayed a commit more than %d minutes ago"},
		{DefaultBackupMaxAge, "has been `degraded` for %d minutes"},
		{LatencyFor, "above 500 ms (`latencyP95`) for %d minutes"},
		{RestartWindow, "more than twice in %d minutes"},
		{DownFor, "for %d minutes (`pg_up == 0`)"},
	} {
		if want := fmt.Sprintf(c.phrase, int(c.value.Minutes())); !strings.Contains(text, want) {
			t.Errorf("%s does not say %q", RunbookDoc, want)
		}
	}
	for _, want := range []string{
		"`availability` 0.999 over `period` 720h", "`errorRatio` 0.01", "`latencyP95` 500ms",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("%s does not say %q", RunbookDoc, want)
		}
	}
	var rows []string
	for _, w := range s.Windows() {
		rows = append(rows, "| "+string(w.Severity)+" | "+PromDuration(w.Long)+" | "+PromDuration(w.Short)+" | "+num(w.BurnRate)+
			" | "+pct(w.Threshold(s))+" | "+PromDuration(w.For)+" | "+pctRounded(w.BurnRate*float64(w.Long)/float64(s.Period))+" |")
	}
	for _, r := range rows {
		if !strings.Contains(string(doc), r) {
			t.Errorf("%s lacks the window row %q", RunbookDoc, r)
		}
	}
}
