package imagetest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Hardening are the `docker run` flags the infrastructure program runs its
// containers with: a read-only root filesystem, no capabilities, no gain of
// privileges.
func Hardening() []string {
	return []string{"--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"}
}

// FastHealth are `docker run` flags that make the image's HEALTHCHECK run
// every second, so a test sees "healthy" soon after the service is.
func FastHealth() []string {
	return []string{"--health-interval", "1s", "--health-start-period", "0s"}
}

// HostPort returns the loopback host:port Docker published the container's
// TCP port on (run with -p 127.0.0.1::port).
func (d Docker) HostPort(t testing.TB, id string, port int) string {
	t.Helper()
	out := d.Run(t, time.Minute, "port", id, strconv.Itoa(port)+"/tcp")
	for line := range strings.Lines(out) {
		hp := strings.TrimSpace(line)
		if host, _, err := net.SplitHostPort(hp); err == nil && host == "127.0.0.1" {
			return hp
		}
	}
	t.Fatalf("container %s: port %d is not published on 127.0.0.1 (docker port: %q)", id, port, out)
	return ""
}

// StopExitCode stops the container with `docker stop -t timeout` (its
// image's STOPSIGNAL, then SIGKILL after timeout) and returns its exit code.
func (d Docker) StopExitCode(t testing.TB, id string, timeout time.Duration) int {
	t.Helper()
	d.Run(t, timeout+time.Minute, "stop", "-t", strconv.Itoa(int(timeout/time.Second)), id)
	code, err := strconv.Atoi(d.Run(t, time.Minute, "inspect", "-f", "{{.State.ExitCode}}", id))
	if err != nil {
		t.Fatalf("exit code of %s: %v", id, err)
	}
	return code
}

// Request sends a request without a body (bounded by 10 s) and returns the
// status and body; a transport error fails the test.
func Request(t testing.TB, method, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

// GetJSON GETs url, wants 200 and decodes the JSON body into v.
func GetJSON(t testing.TB, url string, v any) {
	t.Helper()
	code, body := Request(t, http.MethodGet, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d %q", url, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: decode %q: %v", url, body, err)
	}
}
