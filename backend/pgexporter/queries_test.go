package pgexporter

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/internal/archivetest"
	"github.com/helloagents/infra/backend/internal/promtest"
	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/testkit"
)

// TestQueries runs the exporter on this machine (Debian's
// prometheus-postgres-exporter, the image's package) with queries.yaml
// against real PostgreSQL 15 servers: a primary that archives WAL, a
// streaming standby of it, and a server that does not archive. Each must
// expose exactly the platform's series it should, with values bounded by
// what the test did and when.
func TestQueries(t *testing.T) {
	exporter := requireExporter(t)
	bin := pgtest.Require(t)
	cred := archivetest.PostgresCred(t)
	dirs := archivetest.NewDirs(t, cred)
	r := archivetest.Runner{Dir: dirs.Base, Cred: cred}

	primary := archivetest.NewCluster(r, bin, dirs.Mkdir(t, "primary"), dirs.Base, pgtest.FreePort(t), "")
	primary.Init(t, map[string]string{"archive_mode": "on", "archive_command": "true"})
	primary.Start(t)
	pc := archivetest.Connect(t, primary.URL("postgres"))
	exec1 := func(sql string) {
		t.Helper()
		if _, err := pc.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec1("CREATE TABLE beat (at timestamptz)")
	archivedAfter := wallNow()
	archivetest.SwitchAndWait(t, primary.URL("postgres"), time.Minute)

	standbyDir := dirs.Mkdir(t, "standby")
	r.Run(t, filepath.Join(bin, "pg_basebackup"), "-D", standbyDir, "-R", "-X", "stream", "--no-sync",
		"-h", "127.0.0.1", "-p", strconv.Itoa(primary.Port), "-U", "postgres")
	standby := archivetest.NewCluster(r, bin, standbyDir, dirs.Base, pgtest.FreePort(t), "")
	standby.Start(t)
	committedAfter := wallNow()
	exec1("INSERT INTO beat VALUES (now())")
	sc := archivetest.Connect(t, standby.URL("postgres"))
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var n int
		if err := sc.QueryRow(context.Background(), "SELECT count(*) FROM beat").Scan(&n); err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the standby did not replay the insert within a minute")
		}
	}

	plain := pgtest.Start(t) // archive_mode off

	tests := []struct {
		name string
		url  string
		// since bounds a series from above: it cannot be older than the
		// moment the test acted; absent means the series must not exist.
		archiveSince, lagSince time.Time
		archiveAbsent, lagZero bool
	}{
		{name: "archiving primary", url: primary.URL("postgres"), archiveSince: archivedAfter, lagZero: true},
		{name: "standby", url: standby.URL("postgres"), archiveAbsent: true, lagSince: committedAfter},
		{name: "primary without archiving", url: plain.URL("postgres"), archiveAbsent: true, lagZero: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			samples := runExporter(t, exporter, tt.url)
			server := fmt.Sprintf("127.0.0.1:%s", regexp.MustCompile(`:(\d+)/`).FindStringSubmatch(tt.url)[1])
			archive, hasArchive := samples[promtest.Key(WALArchiveAge, "server", server)]
			lag, hasLag := samples[promtest.Key(StandbyReplayLag, "server", server)]
			t.Logf("%s = %v (present %v), %s = %v (present %v)", WALArchiveAge, archive, hasArchive, StandbyReplayLag, lag, hasLag)
			switch {
			case tt.archiveAbsent && hasArchive:
				t.Errorf("%s = %v, want no series", WALArchiveAge, archive)
			case !tt.archiveAbsent:
				checkAge(t, WALArchiveAge, archive, hasArchive, tt.archiveSince)
			}
			switch {
			case tt.lagZero && (!hasLag || lag != 0):
				t.Errorf("%s = %v (present %v), want 0", StandbyReplayLag, lag, hasLag)
			case !tt.lagZero:
				checkAge(t, StandbyReplayLag, lag, hasLag, tt.lagSince)
			}
		})
	}
}

// checkAge wants an age in seconds no older than since.
func checkAge(t *testing.T, name string, v float64, present bool, since time.Time) {
	t.Helper()
	// One second of slack for the two clocks' resolution (PostgreSQL's
	// and this process's wall clock).
	limit := wallNow().Sub(since).Seconds() + 1
	if !present || math.IsNaN(v) || v < 0 || v > limit {
		t.Errorf("%s = %v (present %v), want between 0 and %.1f s (since the test acted)", name, v, present, limit)
	}
}

// runExporter runs the exporter with queries.yaml against url until it
// reports pg_up 1 (bounded), and returns that scrape.
func runExporter(t *testing.T, exporter, url string) promtest.Samples {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", pgtest.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, exporter, "--web.listen-address="+addr, "--extend.query-path=queries.yaml")
	cmd.Env = []string{EnvDataSourceName + "=" + url}
	out, err := os.CreateTemp(t.TempDir(), "exporter-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the exporter: %v", err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			logs, _ := os.ReadFile(out.Name())
			t.Logf("exporter log:\n%s", logs)
		}
	}()
	var samples promtest.Samples
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		samples, err = promtest.Scrape(t.Context(), "http://"+addr+MetricsPath)
		if err == nil && samples[promtest.Key("pg_up")] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the exporter did not report pg_up 1 within 30 s: %v", err)
		}
	}
	for k, v := range samples {
		if regexp.MustCompile(`^pg_exporter_user_queries_load_error\{`).MatchString(k) && v != 0 {
			t.Errorf("%s = %v: queries.yaml did not load", k, v)
		}
	}
	return samples
}

// requireExporter finds Debian's exporter: a skip when it is missing, a
// failure under CI.
func requireExporter(t *testing.T) string {
	t.Helper()
	p := testkit.RequireTool(t, "prometheus-postgres-exporter", "apt-get install prometheus-postgres-exporter")
	return p
}

// wallNow is the wall clock without its monotonic reading, comparable
// with PostgreSQL's timestamps.
func wallNow() time.Time { return time.Now().Round(0) }
