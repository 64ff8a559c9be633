package standby_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/testkit"
)

// fakeBin writes stand-ins for the programs the entrypoint runs: each
// records its arguments (and PG_ROLE) in calls; pgrole exits with
// $FAKE_PGROLE_EXIT; initdb makes PG_VERSION.
func fakeBin(t *testing.T) (dir, calls string) {
	t.Helper()
	dir = t.TempDir()
	calls = filepath.Join(dir, "calls")
	scripts := map[string]string{
		"pgrole":   `echo "pgrole $* PG_ROLE=$PG_ROLE" >>"$CALLS"; exit "${FAKE_PGROLE_EXIT:-0}"`,
		"initdb":   `echo "initdb" >>"$CALLS"; d=; while [ $# -gt 0 ]; do [ "$1" = -D ] && d=$2; shift; done; echo 15 >"$d/PG_VERSION"`,
		"postgres": `echo "postgres $*" >>"$CALLS"; cat >/dev/null`,
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir, calls
}

// TestStandbyEntrypoint runs backend/postgres-entrypoint.sh with stand-in
// programs: PG_ROLE is checked, pgrole prepare runs first for every role
// and its refusal stops the start with its exit status; initdb runs only
// for a primary with an empty PGDATA; postgres gets the settings both
// roles need (track_commit_timestamp for the lag, archiving).
func TestStandbyEntrypoint(t *testing.T) {
	script, err := filepath.Abs("../postgres-entrypoint.sh")
	if err != nil {
		t.Fatal(err)
	}
	repo := []string{"PGBACKREST_REPO1_TYPE=s3", "PGBACKREST_STANZA=main", "ARCHIVE_TIMEOUT=10s"}
	for _, tc := range []struct {
		name      string
		env       []string
		cluster   bool // PGDATA holds a cluster already
		pgrole    string
		code      int
		calls     []string // prefixes, in order
		notCalled string
		stderr    string
	}{
		{name: "primary, fresh", env: append([]string{"POSTGRES_PASSWORD=pw"}, repo...),
			calls: []string{"pgrole prepare PG_ROLE=primary", "initdb",
				"postgres -D PGDATA -c wal_level=replica -c archive_mode=on -c archive_command=pgbackrest --stanza=main archive-push %p -c archive_timeout=10s -c listen_addresses=* -c unix_socket_directories=/var/run/postgresql -c track_commit_timestamp=on -c hot_standby=on"}},
		{name: "standby", env: append([]string{"PG_ROLE=standby"}, repo...), cluster: true,
			calls: []string{"pgrole prepare PG_ROLE=standby", "postgres -D PGDATA -c wal_level=replica"}, notCalled: "initdb"},
		{name: "standby without password, seeded by pgrole", env: append([]string{"PG_ROLE=standby"}, repo...),
			calls: []string{"pgrole prepare PG_ROLE=standby"}, pgrole: "2", code: 2, notCalled: "postgres", stderr: "pgrole prepare exited 2"},
		{name: "fenced primary refused", env: repo, cluster: true, pgrole: "3", code: 3,
			calls: []string{"pgrole prepare PG_ROLE=primary"}, notCalled: "postgres", stderr: "not starting"},
		{name: "bad role", env: []string{"PG_ROLE=leader"}, code: 2, notCalled: "pgrole", stderr: "PG_ROLE=leader: want primary or standby"},
		{name: "dev, no repository", env: []string{"POSTGRES_PASSWORD=pw"},
			calls: []string{"pgrole prepare PG_ROLE=primary", "initdb", "postgres -D PGDATA -c listen_addresses=* -c unix_socket_directories=/var/run/postgresql -c track_commit_timestamp=on"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, calls := fakeBin(t)
			data := filepath.Join(t.TempDir(), "pgdata")
			if tc.cluster {
				if err := os.MkdirAll(data, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(data, "PG_VERSION"), []byte("15\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "/bin/sh", script)
			cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin", "CALLS=" + calls, "PGDATA=" + data,
				"FAKE_PGROLE_EXIT=" + tc.pgrole, "TMPDIR=" + t.TempDir()}, tc.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(calls)
			got := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(b), data, "PGDATA")), "\n")
			if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
				t.Fatalf("exit %d, want %d; stderr %q does not say %q", code, tc.code, stderr.String(), tc.stderr)
			}
			if len(got) < len(tc.calls) {
				t.Fatalf("calls %q, want %q", got, tc.calls)
			}
			for i, want := range tc.calls {
				if !strings.HasPrefix(got[i], want) {
					t.Errorf("call %d = %q, want it to start %q", i, got[i], want)
				}
			}
			if tc.notCalled != "" && strings.Contains(string(b), tc.notCalled) {
				t.Errorf("%s ran: %q", tc.notCalled, got)
			}
		})
	}
}

// TestStandbyEntrypointShellcheck keeps the entrypoint free of shellcheck
// findings (POSIX sh: the image has no bash).
func TestStandbyEntrypointShellcheck(t *testing.T) {
	testkit.RequireTool(t, "shellcheck", "apt-get install shellcheck")
	out, err := exec.CommandContext(context.Background(), "shellcheck", "-s", "sh", "../postgres-entrypoint.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}
