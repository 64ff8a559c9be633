package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/internal/archivetest"
	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/store"
	"github.com/helloagents/infra/backend/testkit"
)

// hotStandby starts a primary (schema migrated by a server of this
// version) and a hot standby of it (pg_basebackup, streaming: the server
// behaves the same whatever feeds the standby its WAL). It returns the
// standby's URL of database helloagents and a connection to the primary.
func hotStandby(t *testing.T, migrated bool) (standbyURL string, primary *pgtest.Server) {
	t.Helper()
	pg := pgtest.Start(t)
	dbURL := pg.CreateDB(t, "helloagents")
	if migrated {
		migratePrimary(t, dbURL)
	}
	dirs := archivetest.NewDirs(t, archivetest.PostgresCred(t))
	data := filepath.Join(dirs.Base, "standby")
	r := archivetest.Runner{Dir: dirs.Base, Cred: dirs.Cred}
	r.Run(t, filepath.Join(pg.BinDir, "pg_basebackup"), "-D", data, "-R", "-X", "stream", "-c", "fast",
		"-h", "127.0.0.1", "-p", strconv.Itoa(pg.Port), "-U", "postgres")
	c := archivetest.NewCluster(r, pg.BinDir, data, dirs.Base, pgtest.FreePort(t), "-c track_commit_timestamp=on")
	c.Start(t)
	return c.URL("helloagents"), pg
}

func migratePrimary(t *testing.T, dbURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
}

// serveOn runs the server (in process) on dbURL until the test ends.
func serveOn(t *testing.T, dbURL string) (base string, stdout *testkit.SyncBuffer) {
	t.Helper()
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, stderr testkit.SyncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, nil, envFunc(map[string]string{
			"DATABASE_URL": dbURL, "HOST": "127.0.0.1", "PORT": strconv.Itoa(port),
			"APP_VERSION": "1.0.0", "HEALTH_CHECK_TIMEOUT": "2s", "SHUTDOWN_DELAY": "0s",
		}), &out, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-exited; code != 0 {
			t.Errorf("server exited %d\nstderr: %s", code, stderr.String())
		}
	})
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, base+"/health/live", 200, 30*time.Second)
	return base, &out
}

// TestStandbyServerWaitsForSchema: on a standby the server never migrates;
// it is not ready until the primary's migration has replicated, then it is.
func TestStandbyServerWaitsForSchema(t *testing.T) {
	standbyURL, primary := hotStandby(t, false)
	base, stdout := serveOn(t, standbyURL)
	waitComponent(t, base+"/health/ready", "database", migrationPending, 30*time.Second)
	if code, _ := get(t, base+"/health/ready"); code != 503 {
		t.Fatalf("/health/ready on a standby without the schema = %d, want 503", code)
	}
	migratePrimary(t, primary.URL("helloagents"))
	waitFor(t, base+"/health/ready", 200, 30*time.Second)
	waitLog(t, stdout, "migration skipped")
	if log := stdout.String(); strings.Count(log, "waiting for the primary's migration") != 1 {
		t.Errorf("log does not say once that it waits, then that it skipped the migration:\n%s", log)
	}
}

// TestStandbyServer: a server whose database is a hot standby skips the
// migration (the schema has replicated), is ready, reports the database
// component as "standby" with the replay lag, answers reads, and refuses
// writes under /api/ with 503 "read-only region"; once the standby is
// promoted it stops refusing without a restart.
func TestStandbyServer(t *testing.T) {
	standbyURL, primary := hotStandby(t, true)
	base, stdout := serveOn(t, standbyURL)
	waitFor(t, base+"/health/ready", 200, 30*time.Second)
	waitLog(t, stdout, "migration skipped")

	// A commit on the primary gives the standby a replayed commit time.
	pconn := archivetest.Connect(t, primary.URL("helloagents"))
	if _, err := pconn.Exec(context.Background(), "INSERT INTO replication_heartbeat (id, beat_at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET beat_at = now()"); err != nil {
		t.Fatal(err)
	}
	body := waitComponent(t, base+"/health", "database", "lag ", 30*time.Second)
	assertShape(t, body, "healthy", map[string]string{
		"database": "standby", "sandbox_pool": "disabled", "ai_service": "not_configured", "backups": "disabled",
	})
	if code, _ := get(t, base+"/api/v1/courses"); code != 200 {
		t.Errorf("GET /api/v1/courses on a standby = %d, want 200", code)
	}
	code, raw := post(t, base+"/api/v1/courses")
	want := `{"error":"read-only region: this region's database is a standby; writes go to the primary region"}`
	if code != 503 || strings.TrimSpace(raw) != want {
		t.Errorf("POST /api/v1/courses on a standby = %d %s, want 503 %s", code, raw, want)
	}

	sconn := archivetest.Connect(t, standbyURL)
	if _, err := sconn.Exec(context.Background(), "SELECT pg_promote(true, 60)"); err != nil {
		t.Fatal(err)
	}
	// The role is probed live (cached for a second): the same server now
	// routes the write, and the mux answers 405 for a route without POST.
	deadline := time.Now().Add(30 * time.Second)
	for code, _ = post(t, base+"/api/v1/courses"); code == 503 && time.Now().Before(deadline); code, _ = post(t, base+"/api/v1/courses") {
		time.Sleep(100 * time.Millisecond)
	}
	if code != http.StatusMethodNotAllowed {
		t.Errorf("POST after promotion = %d, want 405 (no longer read-only)", code)
	}
	_, body = get(t, base+"/health")
	if db := body["components"].(map[string]any)["database"].(map[string]any); db["status"] != "healthy" {
		t.Errorf("database component after promotion = %v, want healthy", db)
	}
}

// waitLog waits (bounded) until the server's log says substr: info lines
// are written in batches.
func waitLog(t *testing.T, stdout *testkit.SyncBuffer, substr string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stdout.String(), substr); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never says %q:\n%s", substr, stdout.String())
		}
	}
}

// waitComponent polls url until component's message contains substr.
func waitComponent(t *testing.T, url, component, substr string, limit time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		_, body := get(t, url)
		comps, _ := body["components"].(map[string]any)
		c, _ := comps[component].(map[string]any)
		if msg, _ := c["message"].(string); strings.Contains(msg, substr) {
			t.Logf("%s: %v", component, c)
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("component %s never said %q: %v", component, substr, c)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}
