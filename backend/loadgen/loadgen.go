// Package loadgen is a bounded HTTP/1.1 load for the release tests: the
// real-Docker release (backend/release) and the real-provider suite
// (realprovider). It writes requests on raw TCP connections so that every
// failure is seen: Go's http.Transport silently retries an idempotent
// request whose reused connection was closed, which would hide exactly the
// failures a release causes.
package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Load is a bounded load on one address. Its methods are safe for
// concurrent use.
type Load struct {
	addr  string
	paths []string

	mu        sync.Mutex
	sent      int
	failed    int
	failures  []string       // the first few, for the log
	versions  map[string]int // version in the health bodies -> count
	lastByCli map[int]string // client -> version of its last health body
	posts     []span         // every slow POST, answered or not
	gets      []Sample       // every GET, for latency figures
}

// Sample is one GET: when it was sent and how long its answer took.
type Sample struct {
	At      time.Time
	Latency time.Duration
}

// span is when one request was sent and when its answer (or error) came.
type span struct{ began, ended time.Time }

// InFlightAt counts the slow POSTs that were in flight at moment t.
func (l *Load) InFlightAt(t time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.posts {
		if s.began.Before(t) && s.ended.After(t) {
			n++
		}
	}
	return n
}

// Kind is a client's kind: KeepAlive reuses one connection until it fails or the server
// closes it; NewConn dials for every request (Connection: close); SlowPost
// dials for every request and sends a POST whose body trickles in over
// slowBody: a non-idempotent request that stays in flight on one replica
// that long, which the proxy must not (and does not) send twice.
type Kind int

// The client kinds.
const (
	KeepAlive Kind = iota
	NewConn
	SlowPost
)

// slowBody is how long a slow POST takes to send its body. The backend has
// no write route: it reads the whole body (net/http consumes a small body
// before it answers) and answers 405 with Allow: GET, HEAD, which proves the
// replica that received the request answered it.
const slowBody = 2 * time.Second

// SlowPath is what slow POSTs ask for.
const SlowPath = "/api/v1/courses"

// New is a load on addr whose GET clients cycle through paths.
func New(addr string, paths ...string) *Load {
	return &Load{addr: addr, paths: paths, versions: map[string]int{}, lastByCli: map[int]string{}}
}

// Run starts clients until ctx ends or each has sent maxPerClient
// requests, pausing pace between requests; it returns when all are done.
func (l *Load) Run(ctx context.Context, clients []Kind, pace time.Duration, maxPerClient int) {
	var wg sync.WaitGroup
	for id, kind := range clients {
		wg.Go(func() { l.client(ctx, id, kind, pace, maxPerClient) })
	}
	wg.Wait()
}

func (l *Load) client(ctx context.Context, id int, kind Kind, pace time.Duration, maxPerClient int) {
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	for i := 0; i < maxPerClient && ctx.Err() == nil; i++ {
		if kind == SlowPost {
			l.slowPost(ctx, id)
			continue
		}
		path := l.paths[i%len(l.paths)]
		if conn == nil {
			d := net.Dialer{Timeout: 5 * time.Second}
			c, err := d.DialContext(ctx, "tcp", l.addr)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				l.record(id, path, 0, nil, fmt.Errorf("dial: %w", err))
				continue
			}
			conn, br = c, bufio.NewReader(c)
		}
		sent := time.Now()
		code, body, closing, err := roundTrip(conn, br, path, kind == NewConn)
		l.sample(sent)
		l.record(id, path, code, body, err)
		if err != nil || closing || kind == NewConn {
			_ = conn.Close()
			conn = nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(pace):
		}
	}
}

// slowPost sends one slow POST on a new connection and records it.
func (l *Load) slowPost(ctx context.Context, id int) {
	const path = SlowPath
	began := time.Now()
	code, allow, err := postSlowly(ctx, l.addr, path)
	if err == nil && (code != http.StatusMethodNotAllowed || !strings.Contains(allow, "GET")) {
		err = fmt.Errorf("POST answered %d (Allow %q), want the backend's 405 (Allow: GET, HEAD)", code, allow)
	}
	l.mu.Lock()
	l.posts = append(l.posts, span{began, time.Now()})
	l.mu.Unlock()
	if ctx.Err() != nil && err != nil {
		return // the load ended mid-request
	}
	if err != nil {
		l.record(id, "POST "+path, 0, nil, err)
		return
	}
	l.record(id, "POST "+path, http.StatusOK, nil, nil)
}

// postSlowly sends a POST with a 64-byte body written in eight pieces over
// slowBody, then reads the answer.
func postSlowly(ctx context.Context, addr, path string) (code int, allow string, err error) {
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, "", fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(slowBody + 15*time.Second)); err != nil {
		return 0, "", err
	}
	const pieces, piece = 8, "01234567"
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: proxy\r\nUser-Agent: release-test\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		path, pieces*len(piece)); err != nil {
		return 0, "", fmt.Errorf("write headers: %w", err)
	}
	for range pieces {
		pause(ctx, slowBody/pieces)
		if _, err := io.WriteString(conn, piece); err != nil {
			return 0, "", fmt.Errorf("write body: %w", err)
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, "", fmt.Errorf("read response: %w", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
		return resp.StatusCode, "", fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, resp.Header.Get("Allow"), nil
}

// roundTrip sends one GET on conn and reads the whole response.
func roundTrip(conn net.Conn, br *bufio.Reader, path string, closeConn bool) (code int, body []byte, closing bool, err error) {
	if err := conn.SetDeadline(time.Now().Add(15 * time.Second)); err != nil {
		return 0, nil, true, err
	}
	header := "Connection: keep-alive"
	if closeConn {
		header = "Connection: close"
	}
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: proxy\r\nUser-Agent: release-test\r\n%s\r\n\r\n", path, header); err != nil {
		return 0, nil, true, fmt.Errorf("write: %w", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, nil, true, fmt.Errorf("read response: %w", err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, true, fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, body, resp.Close, nil
}

func (l *Load) sample(sent time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gets = append(l.gets, Sample{At: sent, Latency: time.Since(sent)})
}

func (l *Load) record(client int, path string, code int, body []byte, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("HTTP %d: %.200s", code, body)
	}
	if err != nil {
		l.failed++
		if len(l.failures) < 20 {
			l.failures = append(l.failures, fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), path, err))
		}
		return
	}
	if v := HealthVersion(body); v != "" {
		l.versions[v]++
		l.lastByCli[client] = v
	}
}

// HealthVersion is the version in a health body, or "" for other bodies.
func HealthVersion(body []byte) string {
	var health struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(body, &health) != nil {
		return ""
	}
	return health.Version
}

// Get sends one GET on a new connection; anything but 200 is an error.
func Get(addr, path string) ([]byte, error) {
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	code, body, _, err := roundTrip(conn, bufio.NewReader(conn), path, true)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("HTTP %d: %.200s", code, body)
	}
	if err != nil {
		return nil, fmt.Errorf("GET %s%s: %w", addr, path, err)
	}
	return body, nil
}

// Counts is a snapshot of the tallies: requests sent and failed (the first
// failures, for the log), the versions seen in health bodies, each client's
// last version, and every GET's latency.
type Counts struct {
	Sent, Failed int
	Failures     []string
	Versions     map[string]int
	Last         map[int]string
	GETs         []Sample
}

// Counts returns the tallies so far.
func (l *Load) Counts() Counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Counts{Sent: l.sent, Failed: l.failed, Failures: slices.Clone(l.failures),
		Versions: maps.Clone(l.versions), Last: maps.Clone(l.lastByCli), GETs: slices.Clone(l.gets)}
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Latencies summarises the latency of some GETs.
type Latencies struct {
	N             int
	P50, P99, Max time.Duration
}

// Latencies summarises the GETs sent from from until to.
func (c Counts) Latencies(from, to time.Time) Latencies {
	var ds []time.Duration
	for _, s := range c.GETs {
		if !s.At.Before(from) && s.At.Before(to) {
			ds = append(ds, s.Latency)
		}
	}
	if len(ds) == 0 {
		return Latencies{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[int(q*float64(len(ds)-1))] }
	return Latencies{N: len(ds), P50: at(0.50), P99: at(0.99), Max: ds[len(ds)-1]}
}
