package release

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
	"sync"
	"time"
)

// load is a bounded HTTP/1.1 load on one address, written on raw TCP
// connections so that every failure is seen: Go's http.Transport silently
// retries an idempotent request whose reused connection was closed, which
// would hide exactly the failures a release causes.
type load struct {
	addr  string
	paths []string

	mu        sync.Mutex
	sent      int
	failed    int
	failures  []string       // the first few, for the log
	versions  map[string]int // version in the health bodies -> count
	lastByCli map[int]string // client -> version of its last health body
}

// client kinds: keepAlive reuses one connection until it fails or the server
// closes it; newConn dials for every request (Connection: close).
const (
	keepAlive = iota
	newConn
)

func newLoad(addr string, paths ...string) *load {
	return &load{addr: addr, paths: paths, versions: map[string]int{}, lastByCli: map[int]string{}}
}

// run starts clients until ctx ends or each has sent maxPerClient
// requests, pausing pace between requests; it returns when all are done.
func (l *load) run(ctx context.Context, clients []int, pace time.Duration, maxPerClient int) {
	var wg sync.WaitGroup
	for id, kind := range clients {
		wg.Go(func() { l.client(ctx, id, kind, pace, maxPerClient) })
	}
	wg.Wait()
}

func (l *load) client(ctx context.Context, id, kind int, pace time.Duration, maxPerClient int) {
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	for i := 0; i < maxPerClient && ctx.Err() == nil; i++ {
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
		code, body, closing, err := roundTrip(conn, br, path, kind == newConn)
		l.record(id, path, code, body, err)
		if err != nil || closing || kind == newConn {
			_ = conn.Close()
			conn = nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(pace):
		}
	}
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

func (l *load) record(client int, path string, code int, body []byte, err error) {
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
	if v := healthVersion(body); v != "" {
		l.versions[v]++
		l.lastByCli[client] = v
	}
}

// healthVersion is the version in a health body, or "" for other bodies.
func healthVersion(body []byte) string {
	var health struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(body, &health) != nil {
		return ""
	}
	return health.Version
}

// get sends one GET on a new connection; anything but 200 is an error.
func get(addr, path string) ([]byte, error) {
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

// counts is a snapshot of the tallies.
type counts struct {
	sent, failed int
	failures     []string
	versions     map[string]int
	last         map[int]string
}

func (l *load) counts() counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	return counts{sent: l.sent, failed: l.failed, failures: slices.Clone(l.failures),
		versions: maps.Clone(l.versions), last: maps.Clone(l.lastByCli)}
}
