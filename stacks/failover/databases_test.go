package failover_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/stacks/failover"
)

// script answers docker command lines: the Postgres container id for ps,
// pgrole's output and exit status for exec.
type script struct {
	calls [][]string
	ps    string
	out   string
	code  int
	exit  string // what docker wait prints: the container's exit status (default 0)
	err   error
}

func (s *script) run(_ context.Context, args []string) ([]byte, []byte, int, error) {
	s.calls = append(s.calls, args)
	if s.err != nil {
		return nil, nil, 0, s.err
	}
	if slices.Contains(args, "ps") {
		return []byte(s.ps), nil, 0, nil
	}
	if slices.Contains(args, "wait") {
		return []byte(cmp.Or(s.exit, "0") + "\n"), nil, 0, nil
	}
	return []byte(s.out), []byte("pgrole: stderr"), s.code, nil
}

const statusJSON = `{"role":"standby","timeline":2,"inRecovery":true,"lastReplayAt":"2026-11-27T12:00:00Z","replayLagSeconds":1.5,"replayLsn":"0/3000060","fenced":false}`

func TestFailoverDockerCommandLines(t *testing.T) {
	eu := failover.Region{Name: "eu-west", DockerHost: "ssh://deploy@eu-west.hosts.helloagents.dev"}
	ps := []string{"--host", eu.DockerHost, "ps", "-q",
		"--filter", "label=helloagents.stack=production",
		"--filter", "label=helloagents.region=eu-west",
		"--filter", "label=helloagents.role=postgres"}
	exec := func(args ...string) []string {
		return append([]string{"--host", eu.DockerHost, "exec", "4f2a9c", "pgrole"}, args...)
	}
	for _, tc := range []struct {
		name string
		call func(d failover.Docker) error
		exec []string
		wait []string // the call after exec, if any
	}{
		{"status", func(d failover.Docker) error {
			st, err := d.Status(context.Background(), eu)
			lag, ok := st.Lag()
			if err == nil && (st.Role != "standby" || st.Timeline != 2 || !ok || lag != 1500*time.Millisecond || st.LastReplayAt == nil || !st.Replaying()) {
				t.Errorf("status %+v", st)
			}
			return err
		}, exec("status", "--json"), nil},
		{"fence", func(d failover.Docker) error { return d.Fence(context.Background(), eu) }, exec("fence"),
			[]string{"--host", eu.DockerHost, "wait", "4f2a9c"}},
		{"promote", func(d failover.Docker) error {
			_, err := d.Promote(context.Background(), eu, 90*time.Second, false)
			return err
		}, exec("promote", "--max-lag", "1m30s"), nil},
		{"promote accepting data loss", func(d failover.Docker) error {
			_, err := d.Promote(context.Background(), eu, time.Minute, true)
			return err
		}, exec("promote", "--max-lag", "1m0s", "--accept-data-loss"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{ps: "4f2a9c\n", out: "promoting\n" + statusJSON + "\n"}
			if err := tc.call(failover.Docker{Stack: "production", Run: s.run}); err != nil {
				t.Fatal(err)
			}
			want := [][]string{ps, tc.exec}
			if tc.wait != nil {
				want = append(want, tc.wait)
			}
			if !slices.EqualFunc(s.calls, want, slices.Equal) {
				t.Errorf("docker calls:\n%q\nwant:\n%q", s.calls, want)
			}
		})
	}
}

func TestFailoverDockerFailures(t *testing.T) {
	eu := failover.Region{Name: "eu-west", DockerHost: "unix:///var/run/docker.sock"}
	for _, tc := range []struct {
		name    string
		s       script
		call    func(d failover.Docker) error
		want    string
		refused bool
	}{
		{"no running container", script{ps: ""}, statusOf(eu), "0 running Postgres containers labelled helloagents.stack=production", false},
		{"two containers", script{ps: "a\nb\n"}, statusOf(eu), "2 running Postgres containers", false},
		{"docker missing", script{err: errors.New(`exec: "docker": executable file not found`)}, statusOf(eu), "executable file not found", false},
		{"status fails", script{ps: "x", code: 1}, statusOf(eu), "exit status 1: pgrole: stderr", false},
		{"status not JSON", script{ps: "x", out: "FATAL"}, statusOf(eu), "not the expected JSON", false},
		{"fence fails", script{ps: "x", code: 1}, func(d failover.Docker) error { return d.Fence(context.Background(), eu) }, "exit status 1", false},
		{"fenced server stops uncleanly", script{ps: "x", exit: "137"}, func(d failover.Docker) error { return d.Fence(context.Background(), eu) },
			"exited with status 137, want 0", false},
		{"promote refused (exit 3)", script{ps: "x", code: 3, out: `{"role":"standby","timeline":1,"inRecovery":true,"replayLagSeconds":300}`},
			func(d failover.Docker) error {
				_, err := d.Promote(context.Background(), eu, time.Minute, false)
				return err
			}, `pgrole promote refused (role "standby", lag 5m0s)`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(failover.Docker{Stack: "production", Run: tc.s.run})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if errors.Is(err, failover.ErrPromoteRefused) != tc.refused {
				t.Errorf("ErrPromoteRefused: %v, want %v", errors.Is(err, failover.ErrPromoteRefused), tc.refused)
			}
		})
	}
}

func statusOf(r failover.Region) func(failover.Docker) error {
	return func(d failover.Docker) error {
		_, err := d.Status(context.Background(), r)
		return err
	}
}

func TestFailoverStackLabel(t *testing.T) {
	for in, want := range map[string]string{"production": "production", "acme/production": "production", "o/p/staging": "staging"} {
		if got := failover.StackLabel(in); got != want {
			t.Errorf("StackLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
