package pitr

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/internal/archivetest"
	"github.com/helloagents/infra/backend/internal/dbfixture"
	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/store"
)

// commit is one committed write: when, and the WAL position after it.
type commit struct {
	at  time.Time
	lsn string
}

// writeLoad commits one row every interval until stop closes (bounded by
// limit), and returns the commits. Failed writes fail the test.
func writeLoad(t *testing.T, url string, interval time.Duration, limit int, stop <-chan struct{}) []commit {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url) // not connect(): this may run in a goroutine, so no t.Fatal
	if err != nil {
		t.Errorf("connect: %v", err)
		return nil
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE TABLE IF NOT EXISTS load (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(), pad text)"); err != nil {
		t.Errorf("create load table: %v", err)
		return nil
	}
	var out []commit
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for range limit {
		select {
		case <-stop:
			return out
		case <-tick.C:
		}
		if _, err := c.Exec(ctx, "INSERT INTO load (pad) VALUES (repeat(md5(random()::text), 20))"); err != nil {
			t.Errorf("write during the load: %v", err)
			return out
		}
		at := time.Now()
		var lsn string
		if err := c.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
			t.Errorf("lsn: %v", err)
			return out
		}
		out = append(out, commit{at, lsn})
	}
	return out
}

// watchRepository polls the S3 server's files every 100 ms and records when
// each WAL segment first appeared in the repository.
func watchRepository(e *env, stop <-chan struct{}) (seen func() map[string]time.Time) {
	var mu sync.Mutex
	first := map[string]time.Time{}
	dir := filepath.Join(e.s3.Dir, e.cfg.Repo.Bucket, e.cfg.Repo.Path, "archive", e.cfg.Stanza, "15-1")
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
			now := time.Now()
			mu.Lock()
			for _, f := range files {
				if name := filepath.Base(f); len(name) > 24 && name[24] == '-' {
					if _, ok := first[name[:24]]; !ok {
						first[name[:24]] = now
					}
				}
			}
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() map[string]time.Time {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(first)
	}
}

// TestPITRArchiveLag runs a steady, bounded write load and measures, for
// every commit, the time until the WAL segment holding it is an object in
// the repository. With archive_timeout 10 s every commit must leave the host
// within archive_timeout plus a small margin.
func TestPITRArchiveLag(t *testing.T) {
	e := newEnv(t)
	app := e.pg.URL("postgres")
	stop := make(chan struct{})
	seen := watchRepository(e, stop)
	defer close(stop)

	var timeout string
	if err := archivetest.Connect(t, app).QueryRow(context.Background(), "SHOW archive_timeout").Scan(&timeout); err != nil || timeout != "10s" {
		t.Fatalf("archive_timeout = %q (%v), want 10s", timeout, err)
	}
	const interval, writes = 100 * time.Millisecond, 300 // about 30 s: three archive timeouts
	commits := writeLoad(t, app, interval, writes, make(chan struct{}))
	if len(commits) == 0 {
		t.Fatal("no commits")
	}
	last := commits[len(commits)-1]
	lastSeg, err := lastByteSegment(1, last.lsn)
	if err != nil {
		t.Fatal(err)
	}
	const margin = 10 * time.Second
	deadline := last.at.Add(testArchiveTimeout + margin + 30*time.Second) // wait past the bound to measure a violation
	for time.Now().Before(deadline) {
		if _, ok := seen()[lastSeg]; ok {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	arrived := seen()
	var lags []time.Duration
	for _, c := range commits {
		seg, err := lastByteSegment(1, c.lsn)
		if err != nil {
			t.Fatal(err)
		}
		at, ok := arrived[seg]
		if !ok {
			var stat string
			_ = archivetest.Connect(t, app).QueryRow(context.Background(), "SELECT row(a.*)::text || ' ' || pg_walfile_name(pg_current_wal_lsn()) FROM pg_stat_archiver a").Scan(&stat)
			logs, _ := os.ReadFile(e.pg.LogFile)
			t.Logf("pg_stat_archiver: %s\npostgres log:\n%s", stat, logs)
			t.Fatalf("segment %s (commit at %s) never reached the repository; seen %v", seg, c.at.Format(time.RFC3339Nano), slices.Sorted(maps.Keys(arrived)))
		}
		lags = append(lags, max(at.Sub(c.at), 0))
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	p50, p95, worst := lags[len(lags)/2], lags[len(lags)*95/100], lags[len(lags)-1]
	t.Logf("archive lag over %d commits (archive_timeout %s, one commit per %s): p50 %s, p95 %s, max %s",
		len(lags), testArchiveTimeout, interval, p50.Round(time.Millisecond), p95.Round(time.Millisecond), worst.Round(time.Millisecond))
	if worst > testArchiveTimeout+margin {
		t.Errorf("max archive lag %s exceeds archive_timeout %s + margin %s", worst, testArchiveTimeout, margin)
	}
}

// TestPITRRepositoryOutage stops the S3 server under a write load: PostgreSQL
// keeps committing, WAL queues locally, the backups health component says
// degraded; after the server returns every segment arrives, the component
// is healthy again, and a recovery to the latest point has every committed row.
func TestPITRRepositoryOutage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app := e.pg.URL("postgres")
	dbfixture.Seed(t, app, 100)
	var logs bytes.Buffer
	job := Job{Runner: e.runner, DatabaseURL: app, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	if err := job.Once(ctx, Full); err != nil {
		t.Fatalf("full backup: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), `"status":"ok"`) {
		t.Errorf("backup run not logged: %s", logs.String())
	}
	conn := archivetest.Connect(t, app)
	check := health.Backups(querier{conn}, health.BackupsPolicy{MaxWALAge: testArchiveTimeout + 10*time.Second, MaxFullAge: 24 * time.Hour}, nil, nil)
	if res := check.Run(ctx); res.Status != health.Healthy {
		t.Fatalf("before the outage: backups %+v, want healthy", res)
	}

	e.s3.Stop(t)
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	var commits []commit
	wg.Go(func() { commits = writeLoad(t, app, 50*time.Millisecond, 2000, stopLoad) })

	// Degraded within a bounded wait, while writes go on.
	var degraded health.Result
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(time.Second) {
		dbfixture.Exec(t, app, "SELECT pg_switch_wal()") // close segments faster than archive_timeout
		degraded = check.Run(ctx)
		if degraded.Status == health.Degraded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backups still %+v after 3 minutes without the repository", degraded)
		}
	}
	t.Logf("during the outage: %s: %s", degraded.Status, degraded.Message)
	e.noSecrets(t, "health message", degraded.Message)
	ready, err := filepath.Glob(filepath.Join(e.cfg.DataDir, "pg_wal", "archive_status", "*.ready"))
	if err != nil || len(ready) == 0 {
		t.Errorf("no WAL queued locally during the outage (%v)", err)
	}
	pgLog, _ := os.ReadFile(e.pg.LogFile)
	e.noSecrets(t, "postgres log", string(pgLog))

	close(stopLoad)
	wg.Wait()
	if len(commits) < 10 {
		t.Fatalf("only %d commits during the outage: PostgreSQL did not keep serving", len(commits))
	}
	t.Logf("%d commits while the repository was down, %d segments queued", len(commits), len(ready))
	want := dbfixture.Fingerprint(t, app)

	e.s3.Start(t)
	start := time.Now()
	seg := archivetest.SwitchAndWait(t, app, 3*time.Minute)
	t.Logf("after the repository returned, the queue drained up to %s in %s", seg, time.Since(start).Round(time.Millisecond))
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		res := check.Run(ctx)
		if res.Status == health.Healthy {
			t.Logf("after the outage: %s: %s", res.Status, res.Message)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backups still %+v a minute after the repository returned", res)
		}
	}

	dir := filepath.Join(e.base, "recovered-latest")
	res, err := e.runner.Recover(ctx, RecoverOptions{Target: Target{Type: Latest}, DataDir: dir, BinDir: e.bin, Timeout: 5 * time.Minute})
	if err != nil {
		t.Fatalf("recover to latest: %v", err)
	}
	t.Logf("recovered: restore %s, replay %s to %s", res.Restore, res.Replay, res.EndWAL)
	got := dbfixture.Fingerprint(t, e.startOn(t, dir, pgtest.FreePort(t), "-c archive_mode=off").URL("postgres"))
	sameData(t, got, want)
	if !strings.Contains(want["public.load"], "rows=") {
		t.Errorf("fingerprint has no load table: %v", want)
	}
}

// querier adapts a connection to health.ArchiveSource.
type querier struct{ c *pgx.Conn }

func (q querier) ArchiveStats(ctx context.Context) (health.ArchiveStats, error) {
	return store.ArchiveStats(ctx, q.c)
}
