package realprovider

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/loadgen"
)

// What the suite watches on the engine: the stack's containers, their
// events and logs, its database, its readiness.

// containerIDs maps each role of the stack's containers but the backend's
// (several) to its container ID.
func containerIDs(t *testing.T) map[string]string {
	t.Helper()
	ids := map[string]string{}
	out := docker(t, "ps", "-a", "--filter", "label=helloagents.stack=dev", "--format", `{{.Label "helloagents.role"}} {{.ID}}`)
	for _, line := range strings.Split(out, "\n") {
		if role, id, ok := strings.Cut(line, " "); ok {
			ids[role] += id
		}
	}
	return ids
}

// followLogs streams a container's log until it is removed; the returned
// function waits (bounded) for the end and returns it.
func followLogs(t *testing.T, id string) func() string {
	t.Helper()
	var mu sync.Mutex
	var buf bytes.Buffer
	cmd := exec.CommandContext(t.Context(), "docker", "logs", "-f", id)
	w := lockedWriter{&mu, &buf}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	return func() string {
		select {
		case <-done:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-done
		}
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// psql runs SQL in the Postgres container as its owner.
func psql(t *testing.T, sql string) string {
	t.Helper()
	return docker(t, "exec", "helloagents-dev-postgres", "sh", "-c", `psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Atqc "$0"`, sql)
}

// waitReady waits (bounded) until /health/ready answers 200 and returns
// how long that took; on a timeout it shows the stack's containers and the
// Postgres and proxy logs.
func waitReady(t *testing.T) time.Duration {
	t.Helper()
	began := time.Now()
	var err error
	for deadline := began.Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if _, err = loadgen.Get(api, "/health/ready"); err == nil {
			return time.Since(began)
		}
	}
	t.Fatalf("not ready within 2 minutes: %v\n%s\npostgres:\n%s\nproxy:\n%s", err,
		docker(t, "ps", "-a", "--filter", "label=helloagents.stack=dev", "--format", "{{.Names}} {{.Status}}"),
		tail(logsOf("helloagents-dev-postgres"), 30), tail(logsOf("helloagents-dev-proxy"), 10))
	return 0
}

// logsOf is a container's log, or why there is none.
func logsOf(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "logs", name).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(docker logs %s: %v)", name, err)
	}
	return string(out)
}

// slowProxyLines are the proxy's log lines of requests that took 300 ms
// or more (httplog's timers TR/Tw/Tc/Tr/Ta, Ta last), but the slow POSTs,
// which take 2 s by design.
func slowProxyLines(t *testing.T) string {
	t.Helper()
	timers := regexp.MustCompile(` -?\d+/-?\d+/-?\d+/-?\d+/\+?(\d+) `)
	var slow []string
	for _, line := range strings.Split(logsOf("helloagents-dev-proxy"), "\n") {
		m := timers.FindStringSubmatch(line)
		if m == nil || strings.Contains(line, `"POST `) {
			continue
		}
		if ms, err := strconv.Atoi(m[1]); err == nil && ms >= 300 {
			slow = append(slow, line)
		}
	}
	return strings.Join(slow, "\n")
}

// events follows the engine's events of the stack's containers until stop.
type events struct {
	mu   sync.Mutex
	list []event
	stop func()
	done chan struct{}
}

// event is one container event: kill (with its signal) or die (with its exit code).
type event struct {
	At     time.Time
	Action string
	Name   string
	Role   string
	Signal string
	Exit   string
}

func followEvents(t *testing.T) *events {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "docker", "events", "--filter", "label=helloagents.stack=dev",
		"--filter", "type=container", "--format", "{{json .}}")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &events{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			e.add(sc.Bytes())
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(e.close)
	return e
}

func (e *events) add(line []byte) {
	var raw struct {
		Action   string `json:"Action"`
		TimeNano int64  `json:"timeNano"`
		Actor    struct {
			Attributes map[string]string `json:"Attributes"`
		} `json:"Actor"`
	}
	if json.Unmarshal(line, &raw) != nil {
		return
	}
	a := raw.Actor.Attributes
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, event{At: time.Unix(0, raw.TimeNano), Action: raw.Action, Name: a["name"],
		Role: a["helloagents.role"], Signal: a["signal"], Exit: a["exitCode"]})
}

// close stops following and returns once the reader is done.
func (e *events) close() {
	e.stop()
	<-e.done
}

// roles are the roles that have events, sorted.
func (e *events) roles() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.list {
		if ev.Role != "" && !slices.Contains(out, ev.Role) {
			out = append(out, ev.Role)
		}
	}
	slices.Sort(out)
	return out
}

// of returns the events of role with action.
func (e *events) of(role, action string) []event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []event
	for _, ev := range e.list {
		if ev.Role == role && ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}
