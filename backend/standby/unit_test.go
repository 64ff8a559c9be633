package standby

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func lagOf(s float64) *float64 { return &s }

func TestPromotable(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	standby := Status{Role: Standby, InRecovery: true, Timeline: 1, LastReplayAt: &at, ReplayLagSeconds: lagOf(5)}
	behind := standby
	behind.ReplayLagSeconds = lagOf(120)
	unknown := Status{Role: Standby, InRecovery: true, Timeline: 1}
	fenced := standby
	fenced.Fenced = true
	for _, tc := range []struct {
		name string
		st   Status
		o    PromoteOptions
		want string // "" promotable; else a part of the refusal
	}{
		{"within max lag", standby, PromoteOptions{MaxLag: time.Minute}, ""},
		{"primary", Status{Role: Primary, Timeline: 3}, PromoteOptions{MaxLag: time.Minute, AcceptDataLoss: true}, "not a standby (it is a primary on timeline 3)"},
		{"behind", behind, PromoteOptions{MaxLag: time.Minute}, "2m0s behind"},
		{"behind, accepted", behind, PromoteOptions{MaxLag: time.Minute, AcceptDataLoss: true}, ""},
		{"unknown lag", unknown, PromoteOptions{MaxLag: time.Hour}, "lag is unknown"},
		{"unknown lag, accepted", unknown, PromoteOptions{AcceptDataLoss: true}, ""},
		{"fenced", fenced, PromoteOptions{MaxLag: time.Hour, AcceptDataLoss: true}, "fenced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := promotable(tc.st, tc.o)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (!errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want a refusal saying %q", err, tc.want)
			}
		})
	}
}

// fakeRestore records pgBackRest calls and fails the first failures of them.
type fakeRestore struct {
	calls    [][]string
	failures int
	dataDir  string
}

func (f *fakeRestore) Run(_ context.Context, command string, args ...string) ([]byte, error) {
	f.calls = append(f.calls, append([]string{command}, args...))
	if len(f.calls) <= f.failures {
		return nil, errors.New("pgbackrest restore failed (exit 75): P00 ERROR: [075]: no backup set found to restore\nmore")
	}
	// A standby restore leaves a cluster with standby.signal.
	for _, name := range []string{"PG_VERSION", "standby.signal"} {
		if err := os.WriteFile(filepath.Join(f.dataDir, name), []byte("15\n"), 0o600); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// dataDir makes a data directory holding the given files.
func dataDir(t *testing.T, files ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pgdata")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPrepare(t *testing.T) {
	for _, tc := range []struct {
		name      string
		role      Role
		files     []string
		noRepo    bool
		failures  int
		wantRole  Role
		wantCalls []string // each call's arguments joined by spaces
		wantErr   string
		refused   bool
		wantLog   string
	}{
		{name: "primary, empty", role: Primary, wantRole: Primary},
		{name: "primary, cluster", role: Primary, files: []string{"PG_VERSION"}, wantRole: Primary},
		{name: "primary, fenced", role: Primary, files: []string{"PG_VERSION", FenceFile}, refused: true, wantErr: "PG_ROLE=standby"},
		{name: "primary told, standby found", role: Primary, files: []string{"PG_VERSION", "standby.signal"}, wantRole: Standby,
			wantLog: "Promotion is an explicit operator action"},
		{name: "standby, empty, waits for a backup", role: Standby, failures: 2, wantRole: Standby,
			wantCalls: []string{"restore --type=standby", "restore --type=standby", "restore --type=standby"},
			wantLog:   "ERROR: [075]: no backup set found to restore"},
		{name: "standby, a standby", role: Standby, files: []string{"PG_VERSION", "standby.signal"}, wantRole: Standby},
		{name: "standby, old primary", role: Standby, files: []string{"PG_VERSION"}, wantRole: Standby,
			wantCalls: []string{"restore --delta --type=standby --target-timeline=latest"}},
		{name: "standby, fenced standby", role: Standby, files: []string{"PG_VERSION", "standby.signal", FenceFile}, wantRole: Standby,
			wantCalls: []string{"restore --delta --type=standby --target-timeline=latest"}},
		{name: "standby, half restored", role: Standby, files: []string{"backup.manifest.copy"}, wantRole: Standby,
			wantCalls: []string{"restore --type=standby --delta"}},
		{name: "standby without a repository", role: Standby, noRepo: true, wantErr: "PGBACKREST_REPO1_TYPE"},
		{name: "bad role", role: "replica", wantErr: `PG_ROLE "replica": want primary or standby`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := dataDir(t, tc.files...)
			f := &fakeRestore{failures: tc.failures, dataDir: dir}
			var log bytes.Buffer
			o := PrepareOptions{Role: tc.role, DataDir: dir, Restore: f, Log: &log, MinWait: time.Millisecond, MaxWait: time.Millisecond}
			if tc.noRepo {
				o.Restore = nil
			}
			role, err := Prepare(context.Background(), o)
			if tc.wantErr != "" || tc.refused {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || errors.Is(err, ErrRefused) != tc.refused {
					t.Fatalf("err = %v, want %q (refusal %t)", err, tc.wantErr, tc.refused)
				}
				return
			}
			if err != nil || role != tc.wantRole {
				t.Fatalf("Prepare = %q, %v; want %q\n%s", role, err, tc.wantRole, log.String())
			}
			var calls []string
			for _, c := range f.calls {
				calls = append(calls, strings.Join(c, " "))
			}
			if strings.Join(calls, "|") != strings.Join(tc.wantCalls, "|") {
				t.Errorf("pgBackRest calls = %q, want %q", calls, tc.wantCalls)
			}
			if fenced, _ := IsFenced(dir); fenced {
				t.Error("the fence marker is still there")
			}
			if !strings.Contains(log.String(), tc.wantLog) {
				t.Errorf("log %q does not say %q", log.String(), tc.wantLog)
			}
		})
	}
}

func TestPrepareGivesUpWithContext(t *testing.T) {
	f := &fakeRestore{failures: 1 << 30, dataDir: dataDir(t)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Prepare(ctx, PrepareOptions{Role: Standby, DataDir: f.dataDir, Restore: f, MinWait: time.Hour})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "no backup set") {
		t.Fatalf("err = %v, want the cancellation and the last pgBackRest error", err)
	}
}

func TestClearStalePID(t *testing.T) {
	// A process that has exited: its pid is free (or reused by something
	// that is not this cluster's server; the test cannot tell, nor can the
	// entrypoint, which is why it runs first in a fresh container).
	done := exec.CommandContext(context.Background(), "true")
	if err := done.Run(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		pid     int
		refused bool
	}{
		{"dead server", done.Process.Pid, false},
		{"our own pid (pid 1 of a new container)", os.Getpid(), false},
		{"our parent's pid (the entrypoint shell)", os.Getppid(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := dataDir(t)
			pidFile := filepath.Join(dir, "postmaster.pid")
			if err := os.WriteFile(pidFile, []byte(strconv.Itoa(tc.pid)+"\n"+dir+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := clearStalePID(dir)
			if errors.Is(err, ErrRefused) != tc.refused {
				t.Fatalf("err = %v, want refusal %t", err, tc.refused)
			}
			if _, serr := os.Stat(pidFile); !tc.refused && serr == nil {
				t.Error("the stale postmaster.pid is still there")
			}
		})
	}
	t.Run("a live server", func(t *testing.T) {
		sleeper := exec.CommandContext(context.Background(), "sleep", "60")
		if err := sleeper.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
		dir := dataDir(t)
		if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(strconv.Itoa(sleeper.Process.Pid)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := clearStalePID(dir); !errors.Is(err, ErrRefused) {
			t.Fatalf("err = %v, want a refusal", err)
		}
	})
}

func TestFenceMarker(t *testing.T) {
	dir := dataDir(t)
	marker := filepath.Join(dir, FenceFile)
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	if err := writeMarker(marker, "failover to eu-west", at); err != nil {
		t.Fatal(err)
	}
	if err := writeMarker(marker, "second", at.Add(time.Hour)); err != nil {
		t.Fatalf("fencing twice: %v", err)
	}
	b, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	if want := "fenced at 2026-11-27T10:00:00Z: failover to eu-west\n"; !strings.HasPrefix(string(b), want) {
		t.Errorf("marker = %q, want it to start %q (the first fence is kept)", b, want)
	}
	if fenced, err := IsFenced(dir); !fenced || err != nil {
		t.Errorf("IsFenced = %t, %v", fenced, err)
	}
}
