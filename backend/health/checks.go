package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/helloagents/infra/backend/replication"
)

// Pinger runs a real query against the database.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Database checks the database through p. The message is fixed text: driver
// errors name hosts, users and databases, which the public body must not show.
// onError, when not nil, receives the underlying error for the server's log.
func Database(p Pinger, onError func(error)) Check {
	return Check{Name: "database", Run: func(ctx context.Context) Result {
		err := p.Ping(ctx)
		if err == nil {
			return Result{Healthy, "Database connection successful"}
		}
		if onError != nil {
			onError(err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return Result{Unhealthy, "Database did not answer in time"}
		}
		return Result{Unhealthy, "Database connection failed"}
	}}
}

// Gated reports c unhealthy with message pending until done is closed, and
// c's own result after that. A failing c is reported as it is (its cause is
// the more useful message). The server gates the database check on the
// schema migration: until it has run, the API answers 503, so the replica
// must not be ready.
func Gated(c Check, done <-chan struct{}, pending string) Check {
	return Check{Name: c.Name, Run: func(ctx context.Context) Result {
		res := c.Run(ctx)
		if res.Status == Unhealthy {
			return res
		}
		select {
		case <-done:
			return res
		default:
			return Result{Unhealthy, pending}
		}
	}}
}

// SandboxPool checks the container sandbox pool by a GET of its health URL
// (2xx is healthy). An empty URL means the pool is not enabled. The URL is
// never echoed: it may carry credentials.
func SandboxPool(url string, client *http.Client) Check {
	return Check{Name: "sandbox_pool", Run: func(ctx context.Context) Result {
		if url == "" {
			return Result{Disabled, "Container pool is not enabled"}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return Result{Unhealthy, "Container pool URL is invalid"}
		}
		if client == nil {
			client = http.DefaultClient
		}
		resp, err := client.Do(req)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return Result{Unhealthy, "Container pool did not answer in time"}
			}
			return Result{Unhealthy, "Container pool is unreachable"}
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return Result{Unhealthy, fmt.Sprintf("Container pool answered HTTP %d", resp.StatusCode)}
		}
		return Result{Healthy, "Container pool is available"}
	}}
}

// AIService reports whether an AI API key is configured. It never calls the
// AI service (a paid API probed every few seconds) and never shows the key.
func AIService(key string) Check {
	return Check{Name: "ai_service", Run: func(context.Context) Result {
		if key == "" {
			return Result{NotConfigured, "AI service API key is not configured"}
		}
		return Result{Configured, "AI service API key is configured"}
	}}
}

// Standby is the database component of a region whose database is a
// read-only hot standby that replays the primary's WAL: it serves reads, so
// it is not a failure and readiness stays 200.
const Standby Status = "standby"

// ReplicationSource reads the database's role and replay lag (store.Store).
type ReplicationSource interface {
	Replication(ctx context.Context) (replication.Status, error)
}

// DatabaseRole checks the database like Database (its query proves the
// server answers), and on a standby reports Standby with the replay lag, or
// Degraded when the lag exceeds maxLag: still ready, since reads are served,
// only staler, and a region's readiness must not hinge on another region's
// primary. A standby that has replayed no commit yet says so.
func DatabaseRole(src ReplicationSource, maxLag time.Duration, onError func(error)) Check {
	return Check{Name: "database", Run: func(ctx context.Context) Result {
		st, err := src.Replication(ctx)
		if err != nil {
			if onError != nil {
				onError(err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return Result{Unhealthy, "Database did not answer in time"}
			}
			return Result{Unhealthy, "Database connection failed"}
		}
		return standbyResult(st, maxLag)
	}}
}

func standbyResult(st replication.Status, maxLag time.Duration) Result {
	if !st.InRecovery {
		return Result{Healthy, "Database connection successful"}
	}
	lag, ok := st.Lag()
	switch {
	case !ok:
		return Result{Standby, "Read-only standby, replaying WAL, no transaction replayed yet"}
	case maxLag > 0 && lag > maxLag:
		return Result{Degraded, fmt.Sprintf("Read-only standby, replaying WAL, lag %s (more than %s behind)",
			replication.FormatLag(lag), replication.FormatLag(maxLag))}
	}
	return Result{Standby, "Read-only standby, replaying WAL, lag " + replication.FormatLag(lag)}
}
