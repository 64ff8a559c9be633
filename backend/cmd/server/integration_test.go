package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/testkit"
)

// The whole server against a real PostgreSQL: healthy, database stopped,
// database back, without restarting the server.
func TestServerWithPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	dbURL := pg.CreateDB(t, "helloagents")
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testkit.SyncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, nil, envFunc(map[string]string{
			"DATABASE_URL": dbURL, "HOST": "127.0.0.1", "PORT": strconv.Itoa(port),
			"APP_VERSION": "1.0.0", "AI_API_KEY": "sk-test-secret", "HEALTH_CHECK_TIMEOUT": "2s",
			"SHUTDOWN_DELAY": "0s",
		}), &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-exited:
			if code != 0 {
				t.Errorf("server exited %d\nstderr: %s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not stop within 30s of cancellation")
		}
		if strings.Contains(stdout.String(), "sk-test-secret") {
			t.Error("logs contain the AI API key")
		}
	})
	waitFor(t, base+"/health/live", 200, 30*time.Second)
	waitFor(t, base+"/health/ready", 200, 30*time.Second)

	t.Run("healthy", func(t *testing.T) {
		code, body := get(t, base+"/health")
		if code != 200 {
			t.Fatalf("/health = %d %v", code, body)
		}
		assertShape(t, body, "healthy", map[string]string{
			"database":     "healthy",
			"sandbox_pool": "disabled",
			"ai_service":   "configured",
			"backups":      "disabled", // the test cluster does not archive WAL
		})
		if code, body := get(t, base+"/health/ready"); code != 200 {
			t.Errorf("/health/ready = %d %v", code, body)
		} else {
			assertShape(t, body, "healthy", map[string]string{"database": "healthy"})
		}
		if code, body := get(t, base+"/health/live"); code != 200 {
			t.Errorf("/health/live = %d %v", code, body)
		} else {
			assertShape(t, body, "healthy", map[string]string{})
		}
		// The migration runs in the background: wait for its table.
		waitFor(t, base+"/api/v1/courses", 200, 30*time.Second)
		_, courses := get(t, base+"/api/v1/courses?limit=2")
		if list, _ := courses["courses"].([]any); len(list) != 2 {
			t.Errorf("courses = %v", courses)
		}
	})

	t.Run("database stopped", func(t *testing.T) {
		pg.Stop(t)
		for _, path := range []string{"/health", "/health/ready"} {
			code, body := get(t, base+path)
			if code != 503 || body["status"] != "unhealthy" {
				t.Errorf("%s = %d %v, want 503 unhealthy", path, code, body)
				continue
			}
			db, _ := body["components"].(map[string]any)["database"].(map[string]any)
			if db["status"] != "unhealthy" {
				t.Errorf("%s database = %v", path, db)
			}
			msg, _ := db["message"].(string)
			for _, leak := range []string{strconv.Itoa(pg.Port), "postgres://", "127.0.0.1", "helloagents"} {
				if strings.Contains(msg, leak) {
					t.Errorf("%s message %q leaks %q", path, msg, leak)
				}
			}
		}
		if code, body := get(t, base+"/health/live"); code != 200 {
			t.Errorf("/health/live = %d %v while the database is down", code, body)
		}
		if code, _ := get(t, base+"/api/v1/courses"); code != 503 {
			t.Errorf("/api/v1/courses = %d, want 503", code)
		}
	})

	t.Run("database back", func(t *testing.T) {
		pg.Restart(t)
		waitFor(t, base+"/health/ready", 200, 30*time.Second)
		if code, body := get(t, base+"/health"); code != 200 {
			t.Errorf("/health = %d %v after recovery", code, body)
		}
		if code, _ := get(t, base+"/api/v1/courses"); code != 200 {
			t.Errorf("/api/v1/courses = %d after recovery", code)
		}
	})
}

var timestampRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

// assertShape checks the contract's body: exactly status, timestamp,
// version and components, each component exactly status and message.
func assertShape(t *testing.T, body map[string]any, status string, components map[string]string) {
	t.Helper()
	if len(body) != 4 || body["status"] != status || body["version"] != "1.0.0" {
		t.Errorf("body = %v", body)
	}
	if ts, _ := body["timestamp"].(string); !timestampRE.MatchString(ts) {
		t.Errorf("timestamp %q is not UTC RFC 3339 with microseconds", ts)
	}
	got, ok := body["components"].(map[string]any)
	if !ok || len(got) != len(components) {
		t.Fatalf("components = %v, want %v", body["components"], components)
	}
	for name, want := range components {
		c, _ := got[name].(map[string]any)
		if len(c) != 2 || c["status"] != want {
			t.Errorf("component %s = %v, want status %s", name, c, want)
		}
		if msg, _ := c["message"].(string); msg == "" || strings.Contains(msg, "sk-test-secret") {
			t.Errorf("component %s message %q", name, msg)
		}
	}
}
