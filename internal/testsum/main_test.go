package main

import (
	"bytes"
	"strings"
	"testing"
)

const stream = `{"ImportPath":"x/c","Action":"build-output","Output":"c.go:1:1: syntax error\n"}
{"ImportPath":"x/c","Action":"build-fail"}
{"Action":"start","Package":"x/a"}
{"Action":"run","Package":"x/a","Test":"TestOK"}
{"Action":"output","Package":"x/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"x/a","Test":"TestOK"}
{"Action":"run","Package":"x/a","Test":"TestPG"}
{"Action":"output","Package":"x/a","Test":"TestPG","Output":"=== RUN   TestPG\n"}
{"Action":"output","Package":"x/a","Test":"TestPG","Output":"    pg_test.go:12: PostgreSQL 15 not found; install postgresql-15\n"}
{"Action":"output","Package":"x/a","Test":"TestPG","Output":"--- SKIP: TestPG (0.00s)\n"}
{"Action":"skip","Package":"x/a","Test":"TestPG"}
{"Action":"run","Package":"x/a","Test":"TestBad"}
{"Action":"output","Package":"x/a","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"output","Package":"x/a","Test":"TestBad","Output":"    a_test.go:3: boom\n"}
{"Action":"output","Package":"x/a","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"x/a","Test":"TestBad"}
{"Action":"output","Package":"x/a","Output":"FAIL\n"}
{"Action":"output","Package":"x/a","Output":"FAIL\tx/a\t0.01s\n"}
{"Action":"fail","Package":"x/a"}
{"Action":"output","Package":"x/b","Output":"PASS\n"}
{"Action":"output","Package":"x/b","Output":"ok  \tx/b\t0.02s\n"}
{"Action":"pass","Package":"x/b"}
`

func TestSummarize(t *testing.T) {
	var out, skips bytes.Buffer
	failed, err := summarize(strings.NewReader(stream), &out, &skips)
	if err != nil || !failed {
		t.Fatalf("failed=%v err=%v", failed, err)
	}
	got := out.String()
	for _, want := range []string{"c.go:1:1: syntax error\n", "    a_test.go:3: boom\n--- FAIL: TestBad (0.00s)\n", "FAIL\tx/a\t0.01s\n", "ok  \tx/b\t0.02s\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, noise := range []string{"=== RUN", "TestOK", "PASS\n"} {
		if strings.Contains(got, noise) {
			t.Errorf("output has %q, which plain go test does not print:\n%s", noise, got)
		}
	}
	if want := "x/a\tTestPG\tpg_test.go:12: PostgreSQL 15 not found; install postgresql-15\n"; skips.String() != want {
		t.Errorf("skips = %q, want %q", skips.String(), want)
	}

	var rep bytes.Buffer
	printReport(&rep, skips.String()+"x/c\tTestPG2\tdb_test.go:9: PostgreSQL 15 not found; install postgresql-15\n")
	for _, want := range []string{"test summary: 2 test(s) SKIPPED", "    2  PostgreSQL 15 not found; install postgresql-15", "a.TestPG, c.TestPG2"} {
		if !strings.Contains(rep.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, rep.String())
		}
	}
	rep.Reset()
	printReport(&rep, "")
	if !strings.Contains(rep.String(), "no test was skipped") {
		t.Errorf("empty report: %q", rep.String())
	}
}
