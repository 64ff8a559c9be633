package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/store"
	"github.com/helloagents/infra/backend/testkit"
)

// stopBudget is the stop timeout the platform gives a backend container
// (components/backend.go): SIGKILL follows SIGTERM after it.
const stopBudget = 30 * time.Second

// serverProc is the real server binary running as a child process, so that
// the test can send it real signals.
type serverProc struct {
	base   string // http://127.0.0.1:port
	cmd    *exec.Cmd
	out    *testkit.SyncBuffer
	exited chan error // receives cmd.Wait's result once
}

// startServer runs bin with env (added to the test's environment) on a free
// loopback port and waits until it is live. It is killed when the test ends,
// if it is still running.
func startServer(t *testing.T, bin string, env ...string) *serverProc {
	t.Helper()
	port := freePort(t)
	p := &serverProc{base: fmt.Sprintf("http://127.0.0.1:%d", port), out: &testkit.SyncBuffer{}, exited: make(chan error, 1)}
	p.cmd = exec.CommandContext(context.Background(), bin) // ended by SIGTERM or the cleanup's Kill
	p.cmd.Env = append(append(os.Environ(), "HOST=127.0.0.1", "PORT="+strconv.Itoa(port)), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case err := <-p.exited:
			p.exited <- err
		default:
			_ = p.cmd.Process.Kill()
			t.Logf("server killed after the test: %v\n%s", <-p.exited, p.out.String())
		}
	})
	waitFor(t, p.base+"/health/live", 200, 30*time.Second)
	return p
}

func (p *serverProc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// waitExit waits (bounded by limit) for the process to end and fails the
// test unless it exited 0.
func (p *serverProc) waitExit(t *testing.T, limit time.Duration) {
	t.Helper()
	if err := p.waitExitErr(limit); err != nil {
		t.Fatalf("server exit: %v\n%s", err, p.out.String())
	}
}

// waitExitErr waits (bounded by limit) for the process to end and returns
// why it did not exit 0.
func (p *serverProc) waitExitErr(limit time.Duration) error {
	select {
	case err := <-p.exited:
		p.exited <- err // for a later waitExit
		return err
	case <-time.After(limit):
		return fmt.Errorf("still running %s after SIGTERM", limit)
	}
}

// keepAliveLoad is a closed-loop load on one URL: keepAlive workers share one
// Transport holding at most that many keep-alive connections, fresh workers
// open a new connection per request. It counts what a client sees, without
// the Transport's hiding: Go's Transport silently retries an idempotent
// request whose reused connection the server closed, which wrk (and any
// client that does not retry) sees as a failed request. So every request
// traces its connection attempts, and one that needed more than one is a
// failure too. Every request carries its own X-Request-Id, which the server
// logs, so a request that failed can be checked against the server's log.
type keepAliveLoad struct {
	url  string
	stop chan struct{}
	wg   sync.WaitGroup

	ok      atomic.Int64 // 200 on its first connection
	closing atomic.Int64 // of those, answered with Connection: close
	refused atomic.Int64 // never connected: the server had closed its listener

	mu     sync.Mutex
	failed []loadFailure // every other outcome
}

// loadFailure is a request that was not answered 200 on its first connection.
type loadFailure struct {
	id     string
	fresh  bool // on a connection of its own, not a reused keep-alive one
	reset  bool // the connection was reset (ECONNRESET), no response
	detail string
}

func startLoad(url string, keepAlive, fresh int) *keepAliveLoad {
	l := &keepAliveLoad{url: url, stop: make(chan struct{})}
	shared := &http.Transport{
		MaxIdleConnsPerHost: keepAlive,
		MaxConnsPerHost:     keepAlive,
		DisableKeepAlives:   false,
	}
	once := &http.Transport{DisableKeepAlives: true}
	for i := range keepAlive + fresh {
		tr := shared
		if i >= keepAlive {
			tr = once
		}
		l.wg.Add(1)
		go l.worker(i, &http.Client{Transport: tr, Timeout: 10 * time.Second})
	}
	return l
}

func (l *keepAliveLoad) worker(n int, c *http.Client) {
	defer l.wg.Done()
	for seq := 0; ; seq++ {
		select {
		case <-l.stop:
			return
		default:
		}
		if l.once(c, fmt.Sprintf("load-%d-%d", n, seq)) == "refused" {
			// The server is gone; do not spin until the test stops the load.
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// once sends one request and records its outcome.
func (l *keepAliveLoad) once(c *http.Client, id string) string {
	var attempts atomic.Int32
	var reused atomic.Bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) {
			if attempts.Add(1) == 1 {
				reused.Store(i.Reused)
			}
		},
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.url, nil)
	req.Header.Set("X-Request-Id", id)
	resp, err := c.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	n := attempts.Load()
	f := loadFailure{id: id, fresh: !reused.Load()}
	switch {
	case err != nil && n == 0 && errors.Is(err, syscall.ECONNREFUSED):
		l.refused.Add(1)
		return "refused"
	case err != nil:
		f.reset = errors.Is(err, syscall.ECONNRESET)
		f.detail = fmt.Sprintf("error after %d connection(s): %v", n, err)
	case n > 1:
		f.detail = fmt.Sprintf("HTTP %d only after %d connections: the Transport retried a request the server dropped", resp.StatusCode, n)
	case resp.StatusCode != http.StatusOK:
		f.detail = fmt.Sprintf("HTTP %d", resp.StatusCode)
	default:
		l.ok.Add(1)
		if resp.Close {
			l.closing.Add(1)
		}
		return "ok"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failed = append(l.failed, f)
	return "failed"
}

// end stops the load and returns the failures.
func (l *keepAliveLoad) end() []loadFailure {
	close(l.stop)
	l.wg.Wait()
	return l.failed
}

// shutdownTestDelay is the SHUTDOWN_DELAY of the keep-alive test. The
// variable SHUTDOWN_TEST_DELAY overrides it, and SHUTDOWN_TEST_SERVER runs
// the test against another server binary: that is how docs/PERFORMANCE.md
// measured the old behaviour (delay 0, or the binary from before the fix);
// those runs are expected to fail, and they log their counts.
func shutdownTestDelay() string {
	if d := os.Getenv("SHUTDOWN_TEST_DELAY"); d != "" {
		return d
	}
	return "2s"
}

func shutdownTestServer(t *testing.T) string {
	if bin := os.Getenv("SHUTDOWN_TEST_SERVER"); bin != "" {
		return bin
	}
	return buildServer(t)
}

// F5: SIGTERM under keep-alive load loses no request. 16 keep-alive
// connections and 2 clients on new connections load /api/v1/courses (real
// PostgreSQL) in a closed loop; SIGTERM arrives mid-load, and the load goes
// on through the pre-stop delay, the drain and the exit: it stops only after
// the process has ended.
//
// Asserted: no request on a keep-alive connection failed (the bug: the
// server closed idle connections that clients were sending on), no request
// was silently retried, no request the server received went unanswered, and
// the process exited 0 within the stop timeout. Counted apart, because the
// server cannot prevent them: connection attempts once the listener is
// closed (refused), and new connections that the kernel had completed but
// the server not yet accepted when it closed its listener (closing a
// listener resets its accept queue). Those only exist because this load
// ignores readiness; behind the proxy, which stops opening connections
// during the pre-stop delay, there are none. Each such reset must be on a
// new connection and absent from the server's log (never received).
func TestShutdownKeepAliveLoadLosesNoRequest(t *testing.T) {
	bin := shutdownTestServer(t)
	pg := pgtest.Start(t)
	dbURL := pg.CreateDB(t, "helloagents")
	srv := startServer(t, bin, "DATABASE_URL="+dbURL, "SHUTDOWN_DELAY="+shutdownTestDelay())
	waitFor(t, srv.base+"/api/v1/courses", 200, 60*time.Second) // migrated

	l := startLoad(srv.base+"/api/v1/courses?limit=5", 16, 2)
	waitCount(t, &l.ok, 500, 30*time.Second) // mid-load: every connection in use
	okAtSignal := l.ok.Load()
	srv.signal(t, syscall.SIGTERM)
	exitErr := srv.waitExitErr(stopBudget)
	failures := l.end()
	log := srv.out.String()

	var keepAlive, unanswered, notAccepted int
	for _, f := range failures {
		switch {
		case f.fresh && f.reset && !strings.Contains(log, `"request_id":"`+f.id+`"`):
			notAccepted++
		case f.fresh:
			unanswered++
			t.Errorf("request %s on a new connection failed: %s", f.id, f.detail)
		default:
			keepAlive++
			t.Errorf("request %s on a keep-alive connection failed: %s", f.id, f.detail)
		}
	}
	t.Logf("requests ok %d (after SIGTERM %d, with Connection: close %d); failed: on keep-alive connections %d, other %d; "+
		"not sent, listener closed: refused %d, reset in the accept queue %d",
		l.ok.Load(), l.ok.Load()-okAtSignal, l.closing.Load(), keepAlive, unanswered, l.refused.Load(), notAccepted)
	if exitErr != nil {
		t.Fatalf("server exit: %v\n%s", exitErr, log)
	}
	if l.ok.Load() == okAtSignal || l.closing.Load() == 0 {
		t.Errorf("no request was answered after SIGTERM (ok %d at SIGTERM, %d at exit, %d closing): the server did not keep serving",
			okAtSignal, l.ok.Load(), l.closing.Load())
	}
	assertStopLog(t, log)
}

// The same under wrk, which retries nothing and reports every socket error.
// wrk cannot tell which connection an error was on, so it runs through
// SIGTERM and the pre-stop delay (a long one, ended by a second SIGTERM once
// wrk has stopped), where every keep-alive connection is closed by the
// server after a response: wrk must see no error at all. Against a server
// that closes idle keep-alive connections at SIGTERM (SHUTDOWN_TEST_SERVER,
// SHUTDOWN_TEST_DELAY=0s) the server exits while wrk runs; wrk's errors then
// include the connections refused after the exit (wrk counts a refused
// non-blocking connect as a write error), so only the Go test above
// separates the failed requests.
func TestShutdownKeepAliveWrk(t *testing.T) {
	wrk := requireWrk(t)
	bin := shutdownTestServer(t)
	pg := pgtest.Start(t)
	dbURL := pg.CreateDB(t, "helloagents")
	delay := "1m"
	if d := os.Getenv("SHUTDOWN_TEST_DELAY"); d != "" {
		delay = d
	}
	srv := startServer(t, bin, "DATABASE_URL="+dbURL, "SHUTDOWN_DELAY="+delay)
	waitFor(t, srv.base+"/api/v1/courses", 200, 60*time.Second)

	// Longer than the test: wrk is stopped by SIGINT, and then prints what it counted.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, wrk, "-t2", "-c16", "-d300s", "--timeout", "10s", srv.base+"/api/v1/courses?limit=5")
	out := &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wrkDone := make(chan error, 1)
	go func() { wrkDone <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-wrkDone //nolint:errcheck // the exit status of a process we stopped tells nothing
		}
	}()
	const served = `"route":"GET /api/v1/courses"`
	waitLogged(t, srv.out, "", served, 500, 30*time.Second) // mid-load
	srv.signal(t, syscall.SIGTERM)
	// 500 more answers after SIGTERM: every connection has been closed by
	// the server after a response, and wrk has reconnected, many times over.
	exited := waitLoggedOrExit(t, srv, "shutting down: readiness 503", served, 500, 30*time.Second)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-wrkDone:
		stopped = true
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("wrk did not stop on SIGINT\n%s", out.String())
	}
	w, err := parseWrk(out.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("wrk: requests %d, non-2xx %d, socket errors: read %d, write %d, timeout %d, connect %d; server exited before wrk stopped: %v",
		w.requests, w.non2xx, w.read, w.write, w.timeout, w.connect, exited)
	if w.read+w.write+w.timeout+w.connect+w.non2xx != 0 || w.requests == 0 || exited {
		t.Errorf("wrk saw failed requests across SIGTERM:\n%s", out.String())
	}
	if !exited {
		srv.signal(t, syscall.SIGTERM) // ends the delay
		srv.waitExit(t, stopBudget)
		assertStopLog(t, srv.out.String())
	}
}

// F4 (first half): after SIGTERM, readiness is 503 at once while the API
// still answers 200 for the whole pre-stop delay; a second signal ends the
// delay and the server drains and exits 0.
func TestShutdownReadyTurns503WhileServing(t *testing.T) {
	bin := buildServer(t)
	pg := pgtest.Start(t)
	dbURL := pg.CreateDB(t, "helloagents")
	// A delay far longer than the test needs: the assertions below run inside
	// it without depending on how fast this machine is; the second signal ends it.
	srv := startServer(t, bin, "DATABASE_URL="+dbURL, "SHUTDOWN_DELAY=1m", "APP_VERSION=1.0.0")
	waitFor(t, srv.base+"/health/ready", 200, 60*time.Second)
	waitFor(t, srv.base+"/api/v1/courses", 200, 60*time.Second)

	srv.signal(t, syscall.SIGTERM)
	waitFor(t, srv.base+"/health/ready", 503, 30*time.Second)
	for _, path := range []string{"/health/ready", "/health"} {
		code, body := get(t, srv.base+path)
		comps, _ := body["components"].(map[string]any)
		server, _ := comps["server"].(map[string]any)
		db, _ := comps["database"].(map[string]any)
		if code != 503 || body["status"] != "unhealthy" || server["status"] != "unhealthy" ||
			server["message"] != "Server is shutting down" || db["status"] != "healthy" {
			t.Errorf("%s after SIGTERM = %d %v", path, code, body)
		}
	}
	for _, path := range []string{"/api/v1/courses", "/health/live"} {
		if code, body := get(t, srv.base+path); code != 200 {
			t.Errorf("%s during the pre-stop delay = %d %v, want 200", path, code, body)
		}
	}

	srv.signal(t, syscall.SIGTERM)
	srv.waitExit(t, stopBudget)
	assertStopLog(t, srv.out.String())
	if !strings.Contains(srv.out.String(), "second signal") {
		t.Errorf("log does not say the second signal cut the delay short:\n%s", srv.out.String())
	}
}

// F4 (second half): readiness and the database component of /health stay
// 503 until the schema is migrated, so a replica is never ready while the
// API would answer 503.
func TestShutdownReadyWaitsForMigration(t *testing.T) {
	// Each phase reads ready and, whenever it is 200, the API at once.
	readyImpliesAPI := func(t *testing.T, base string) (ready bool, dbMessage string) {
		t.Helper()
		code, body := get(t, base+"/health/ready")
		comps, _ := body["components"].(map[string]any)
		db, _ := comps["database"].(map[string]any)
		dbMessage, _ = db["message"].(string)
		if code != 200 {
			// /health fails with readiness, unless the migration finished
			// between the two requests: then readiness is 200 by now too.
			if fcode, full := get(t, base+"/health"); fcode != 503 {
				if rcode, _ := get(t, base+"/health/ready"); rcode != 200 {
					t.Errorf("/health = %d %v while ready is %d", fcode, full, rcode)
				}
			}
			return false, dbMessage
		}
		if code, body := get(t, base+"/api/v1/courses"); code != 200 {
			t.Fatalf("ready 200 but /api/v1/courses = %d %v", code, body)
		}
		return true, dbMessage
	}

	t.Run("database down at start", func(t *testing.T) {
		pg := pgtest.Start(t)
		dbURL := pg.CreateDB(t, "helloagents")
		pg.Stop(t)
		base := serveInProcess(t, dbURL)

		if ready, msg := readyImpliesAPI(t, base); ready || msg != "Database connection failed" {
			t.Fatalf("database down: ready %v, database %q", ready, msg)
		}
		if code, _ := get(t, base+"/api/v1/courses"); code != 503 {
			t.Errorf("/api/v1/courses = %d with the database down", code)
		}
		pg.Restart(t)
		seen := map[string]int{}
		deadline := time.Now().Add(60 * time.Second)
		for {
			ready, msg := readyImpliesAPI(t, base)
			if ready {
				break
			}
			seen[msg]++
			if time.Now().After(deadline) {
				t.Fatalf("not ready 60s after the database came back; database messages seen: %v", seen)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("503 answers between the database's return and readiness, by database message: %v", seen)
	})

	t.Run("migration held back by another replica's lock", func(t *testing.T) {
		pg := pgtest.Start(t)
		dbURL := pg.CreateDB(t, "helloagents")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		other, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close(context.Background())
		if _, err := other.Exec(ctx, "SELECT pg_advisory_lock($1)", store.MigrationLockID); err != nil {
			t.Fatal(err)
		}
		base := serveInProcess(t, dbURL)

		// The database answers, the migration waits for the lock: not ready.
		deadline := time.Now().Add(30 * time.Second)
		for {
			ready, msg := readyImpliesAPI(t, base)
			if ready {
				t.Fatal("ready while the migration cannot run")
			}
			if msg == migrationPending {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("database message %q, want %q", msg, migrationPending)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if code, _ := get(t, base+"/api/v1/courses"); code != 503 {
			t.Errorf("/api/v1/courses = %d before the migration", code)
		}

		if _, err := other.Exec(ctx, "SELECT pg_advisory_unlock($1)", store.MigrationLockID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, base+"/health/ready", 200, 60*time.Second)
		if ready, msg := readyImpliesAPI(t, base); !ready {
			t.Errorf("not ready after the migration: %q", msg)
		}
		if code, body := get(t, base+"/health"); code != 200 {
			t.Errorf("/health = %d %v after the migration", code, body)
		}
	})
}

// serveInProcess runs the server in this process against dbURL until the
// test ends (then cancelled, with no pre-stop delay) and waits until it is live.
func serveInProcess(t *testing.T, dbURL string) string {
	t.Helper()
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	var out testkit.SyncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, nil, envFunc(map[string]string{
			"DATABASE_URL": dbURL, "HOST": "127.0.0.1", "PORT": strconv.Itoa(port),
			"APP_VERSION": "1.0.0", "SHUTDOWN_DELAY": "0s",
		}), &out, &out)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-exited:
			if code != 0 {
				t.Errorf("server exited %d\n%s", code, out.String())
			}
		case <-time.After(stopBudget):
			t.Errorf("server did not stop within %s of cancellation", stopBudget)
		}
	})
	waitFor(t, base+"/health/live", 200, 30*time.Second)
	return base
}

func assertStopLog(t *testing.T, log string) {
	t.Helper()
	for _, want := range []string{"shutting down: readiness 503", "closing the listener, draining", `"msg":"stopped"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// waitCount waits (bounded) until c reaches n.
func waitCount(t *testing.T, c *atomic.Int64, n int64, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for c.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests answered within %s", c.Load(), n, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLogged waits (bounded) until log holds at least n lines containing s
// after the first line containing after ("" for the start).
func waitLogged(t *testing.T, log *testkit.SyncBuffer, after, s string, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for countAfter(log.String(), after, s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d log lines with %q after %q within %s", n, s, after, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLoggedOrExit is waitLogged that also stops when the process exits, and
// says whether it did.
func waitLoggedOrExit(t *testing.T, p *serverProc, after, s string, n int, limit time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(limit)
	for countAfter(p.out.String(), after, s) < n {
		select {
		case err := <-p.exited:
			p.exited <- err
			return true
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d log lines with %q after %q within %s", n, s, after, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func countAfter(log, after, s string) int {
	i := strings.Index(log, after)
	if i < 0 {
		return 0
	}
	return strings.Count(log[i:], s)
}

// requireWrk finds wrk (Debian package wrk): a failure under CI, a skip elsewhere.
func requireWrk(t *testing.T) string {
	t.Helper()
	p := testkit.RequireTool(t, "wrk", "apt-get install wrk")
	return p
}

type wrkCounts struct{ requests, non2xx, connect, read, write, timeout int }

var (
	wrkRequestsRE = regexp.MustCompile(`(\d+) requests in `)
	wrkSocketRE   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xxRE   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads wrk's summary; the error lines are absent when zero.
func parseWrk(out string) (wrkCounts, error) {
	var w wrkCounts
	m := wrkRequestsRE.FindStringSubmatch(out)
	if m == nil {
		return w, errors.New("wrk output has no request count")
	}
	w.requests, _ = strconv.Atoi(m[1])
	if m := wrkSocketRE.FindStringSubmatch(out); m != nil {
		w.connect, _ = strconv.Atoi(m[1])
		w.read, _ = strconv.Atoi(m[2])
		w.write, _ = strconv.Atoi(m[3])
		w.timeout, _ = strconv.Atoi(m[4])
	}
	if m := wrkNon2xxRE.FindStringSubmatch(out); m != nil {
		w.non2xx, _ = strconv.Atoi(m[1])
	}
	return w, nil
}
