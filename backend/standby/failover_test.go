package standby_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/helloagents/infra/backend/internal/archivetest"
	"github.com/helloagents/infra/backend/replication"
	"github.com/helloagents/infra/backend/standby"
)

// replayBound is how long a row may take to reach a standby: the archive
// timeout (segment switch), pushing it, and the standby's retry interval
// for restore_command (5 s), with room for a 2-core machine loaded by
// other suites (45 s was once too little there). A failure-detection
// bound, not a measurement: a healthy wait ends when the row arrives, and
// the measured lag is logged.
const replayBound = 3*testArchiveTimeout + 75*time.Second

// TestStandbyFollowsPrimary: under a bounded write load (about 20 commits
// a second) a standby restored from the shared repository replays the
// primary's commits from the WAL archive; its status says standby with a
// lag, and the last row of the load arrives within replayBound.
func TestStandbyFollowsPrimary(t *testing.T) {
	w := newWorld(t)
	a := w.primary(t, "a")
	b := w.seedStandby(t, "b")
	if st := b.status(t); st.Role != standby.Standby || !st.InRecovery || st.Fenced {
		t.Fatalf("seeded node status = %+v, want an unfenced standby", st)
	}

	load := startWriter(t, a, 1, 50*time.Millisecond)
	var maxLag time.Duration
	for end := time.Now().Add(2 * testArchiveTimeout); time.Now().Before(end); time.Sleep(time.Second) {
		if lag, ok := b.status(t).Lag(); ok && lag > maxLag {
			maxLag = lag
		}
	}
	commits, err := load.Stop()
	if err != nil {
		t.Fatalf("write load: %v", err)
	}
	last := commits[len(commits)-1]
	took := waitFor(t, b, last.id, replayBound)
	st := b.status(t)
	lag, ok := st.Lag()
	if !ok || st.LastReplayAt == nil || st.ReplayLSN == "" {
		t.Fatalf("standby status after replay = %+v, want a last replayed commit and position", st)
	}
	t.Logf("standby followed %d commits in %s: last row visible %s after its commit (%s after the load stopped); "+
		"replay lag sampled every second peaked at %s, now %s (archive_timeout %s)",
		len(commits), 2*testArchiveTimeout, time.Since(last.at).Round(time.Millisecond), took.Round(time.Millisecond),
		replication.FormatLag(maxLag), replication.FormatLag(lag), testArchiveTimeout)
	if got, want := len(ids(t, b)), len(commits); got != want {
		t.Errorf("standby holds %d rows, the primary acknowledged %d", got, want)
	}
}

// drillResult is what a failover drill measured.
type drillResult struct {
	a, b     *node
	commits  []commit // acknowledged by a before the kill
	survived map[int64]bool
	nextID   int64
}

// runDrill kills a primary under write load and fails over to its standby
// with the operator's logic (status, promote), then writes on the new
// primary. It asserts the RPO bounds and logs RPO and RTO.
func runDrill(t *testing.T) drillResult {
	t.Helper()
	w := newWorld(t)
	a := w.primary(t, "a")
	b := w.seedStandby(t, "b")
	load := startWriter(t, a, 1, 20*time.Millisecond)
	time.Sleep(2*testArchiveTimeout + testArchiveTimeout/2)

	var archived string
	if err := archivetest.Connect(t, a.pg.URL("postgres")).QueryRow(context.Background(),
		"SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver").Scan(&archived); err != nil {
		t.Fatal(err)
	}
	a.pg.Stop(t, "immediate")
	killed := time.Now()
	commits, _ := load.Wait(t, 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn := archivetest.Connect(t, b.pg.URL("postgres"))
	before, err := standby.ReadStatus(ctx, conn, b.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	after, err := standby.Promote(ctx, conn, b.cfg.DataDir, standby.PromoteOptions{MaxLag: time.Minute})
	if err != nil {
		t.Fatalf("promote %s (status before: %+v): %v", b.name, before, err)
	}
	nextID := commits[len(commits)-1].id + 1000
	if _, err := conn.Exec(ctx, "INSERT INTO drill (id) VALUES ($1)", nextID); err != nil {
		t.Fatalf("first write on the new primary: %v", err)
	}
	rto := time.Since(killed)
	if after.Role != standby.Primary || after.InRecovery || after.Timeline <= before.Timeline {
		t.Errorf("status after promote = %+v (before %+v), want a primary on a later timeline", after, before)
	}

	survived := ids(t, b)
	checkRPO(t, commits, survived, archived, killed)
	t.Logf("RTO %s from the kill to the first write accepted on the new primary (timeline %d -> %d; lag before promote %s)",
		rto.Round(time.Millisecond), before.Timeline, after.Timeline, lagText(before))
	return drillResult{a: a, b: b, commits: commits, survived: survived, nextID: nextID + 1}
}

// checkRPO asserts that every commit whose WAL was archived before the kill
// survived, that the lost ones are the newest (no hole), and that they span
// no more than the archive timeout plus the archive push.
func checkRPO(t *testing.T, commits []commit, survived map[int64]bool, archived string, killed time.Time) {
	t.Helper()
	end, err := segmentEnd(archived)
	if err != nil {
		t.Fatalf("last archived segment before the kill: %v", err)
	}
	var lost []commit
	for _, c := range commits {
		switch {
		case !survived[c.id] && c.lsn <= end:
			t.Errorf("row %d (committed at %s, WAL before the end of archived segment %s) was lost",
				c.id, c.at.Format(time.RFC3339Nano), archived)
		case !survived[c.id]:
			lost = append(lost, c)
		case len(lost) > 0:
			t.Errorf("row %d survived after lost row %d: replay left a hole", c.id, lost[0].id)
		}
	}
	window := time.Duration(0)
	if len(lost) > 0 {
		window = killed.Sub(lost[0].at)
	}
	// The lost window is at most archive_timeout (the segment switch) plus
	// the push of the switched segment, which runs asynchronously: 5 s.
	if bound := testArchiveTimeout + 5*time.Second; window > bound {
		t.Errorf("RPO %s: lost %d commits from %s to the kill, more than %s", window, len(lost), lost[0].at.Format(time.RFC3339Nano), bound)
	}
	span := time.Duration(0)
	if len(lost) > 0 {
		span = lost[len(lost)-1].at.Sub(lost[0].at)
	}
	t.Logf("RPO: %d of %d acknowledged commits lost, spanning %s; oldest lost commit %s before the kill "+
		"(archive_timeout %s, last archived segment before the kill %s)",
		len(lost), len(commits), span.Round(time.Millisecond), window.Round(time.Millisecond), testArchiveTimeout, archived)
}

func lagText(s standby.Status) string {
	if l, ok := s.Lag(); ok {
		return replication.FormatLag(l)
	}
	return "unknown"
}

// TestFailoverDrill: see runDrill.
func TestFailoverDrill(t *testing.T) {
	d := runDrill(t)
	if len(d.survived) == 0 {
		t.Fatal("the new primary holds no row of the drill")
	}
}

// TestFailoverOldPrimaryReturns: after the drill the old primary comes back.
// Fenced, it refuses to start as a primary and takes no write; re-seeded
// (Prepare, the entrypoint's path) it is a standby of the new timeline and
// catches up. Then a planned failback: the new primary is fenced (its last
// WAL archived), the old one promoted; no acknowledged row of the new
// primary is lost, and once the fenced one is re-seeded too both hold the
// same rows.
func TestFailoverOldPrimaryReturns(t *testing.T) {
	d := runDrill(t)
	a, b := d.a, d.b
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	srvA := standby.Server{DataDir: a.cfg.DataDir, BinDir: a.pg.BinDir, Credential: a.pg.Cred}
	if _, err := srvA.Fence(ctx, nil, "failover to b", time.Now(), time.Minute); err != nil {
		t.Fatalf("fence the old primary: %v", err)
	}
	if _, err := standby.Prepare(ctx, standby.PrepareOptions{Role: standby.Primary, DataDir: a.cfg.DataDir}); !errors.Is(err, standby.ErrRefused) {
		t.Fatalf("prepare the fenced old primary as a primary: err = %v, want a refusal", err)
	}
	if c, err := pgx.Connect(ctx, a.pg.URL("postgres")); err == nil {
		_, werr := c.Exec(ctx, "INSERT INTO drill (id) VALUES (-1)")
		_ = c.Close(ctx)
		t.Fatalf("the fenced old primary answers (write error: %v)", werr)
	}

	a.prepare(t, standby.Standby)
	if fenced, _ := standby.IsFenced(a.cfg.DataDir); fenced {
		t.Error("the re-seeded old primary still holds the fence marker")
	}
	a.start(t)
	load := startWriter(t, b, d.nextID, 50*time.Millisecond)
	time.Sleep(testArchiveTimeout)
	onB, err := load.Stop()
	if err != nil {
		t.Fatalf("writes on the new primary: %v", err)
	}
	waitFor(t, a, onB[len(onB)-1].id, replayBound)
	refusesWrites(t, a)
	if st := a.status(t); st.Role != standby.Standby {
		t.Fatalf("re-seeded old primary status = %+v, want standby", st)
	}

	// Planned failback: fence b (running) so its last writes are archived.
	rowsB := ids(t, b)
	srvB := standby.Server{DataDir: b.cfg.DataDir, BinDir: b.pg.BinDir, Credential: b.pg.Cred}
	seg, err := srvB.Fence(ctx, archivetest.Connect(t, b.pg.URL("postgres")), "failback to a", time.Now(), time.Minute)
	if err != nil {
		t.Fatalf("fence the new primary for failback: %v", err)
	}
	connA := archivetest.Connect(t, a.pg.URL("postgres"))
	if _, err := standby.Promote(ctx, connA, a.cfg.DataDir, standby.PromoteOptions{MaxLag: time.Minute}); err != nil {
		t.Fatalf("promote the old primary back: %v", err)
	}
	final := onB[len(onB)-1].id + 1000
	if _, err := connA.Exec(ctx, "INSERT INTO drill (id) VALUES ($1)", final); err != nil {
		t.Fatalf("write after failback: %v", err)
	}
	rowsA := ids(t, a)
	for id := range rowsB {
		if !rowsA[id] {
			t.Errorf("row %d, committed on b before the failback (last segment %s archived), is lost", id, seg)
		}
	}

	b.prepare(t, standby.Standby)
	b.start(t)
	waitFor(t, b, final, replayBound)
	rowsA, rowsB = ids(t, a), ids(t, b)
	if len(rowsA) != len(rowsB) {
		t.Errorf("after failback a holds %d rows and b %d, want the same", len(rowsA), len(rowsB))
	}
	for id := range rowsA {
		if !rowsB[id] {
			t.Errorf("row %d is on a but not on b", id)
		}
	}
	t.Logf("failback lost none of b's %d rows; both hold %d rows", len(onB), len(rowsA))
}

// refusesWrites asserts a write on n fails with read_only_sql_transaction.
func refusesWrites(t *testing.T, n *node) {
	t.Helper()
	_, err := archivetest.Connect(t, n.pg.URL("postgres")).Exec(context.Background(), "INSERT INTO drill (id) VALUES (-2)")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Fatalf("write on %s: err = %v, want SQLSTATE 25006 (read-only)", n.name, err)
	}
}

// TestFailoverRefuses: promotion refuses a primary, a standby with no
// replayed commit or more lag than allowed, and a fenced directory; with
// --accept-data-loss a lagging standby is promoted.
func TestFailoverRefuses(t *testing.T) {
	w := newWorld(t)
	a := w.primary(t, "a")
	b := w.seedStandby(t, "b")
	ctx := context.Background()

	connA := archivetest.Connect(t, a.pg.URL("postgres"))
	if _, err := standby.Promote(ctx, connA, a.cfg.DataDir, standby.PromoteOptions{MaxLag: time.Hour}); !errors.Is(err, standby.ErrRefused) {
		t.Errorf("promote the primary: err = %v, want a refusal", err)
	}
	execSQL(t, a, "INSERT INTO drill (id) VALUES (1)")
	waitFor(t, b, 1, replayBound)
	connB := archivetest.Connect(t, b.pg.URL("postgres"))
	_, err := standby.Promote(ctx, connB, b.cfg.DataDir, standby.PromoteOptions{MaxLag: time.Nanosecond})
	if !errors.Is(err, standby.ErrRefused) {
		t.Fatalf("promote a standby behind --max-lag: err = %v, want a refusal", err)
	}
	t.Logf("refusal: %v", err)
	if st := b.status(t); !st.InRecovery {
		t.Fatal("a refused promotion promoted the standby")
	}
	marker := filepath.Join(b.cfg.DataDir, standby.FenceFile)
	if err := os.WriteFile(marker, []byte("test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := standby.Promote(ctx, connB, b.cfg.DataDir, standby.PromoteOptions{AcceptDataLoss: true}); !errors.Is(err, standby.ErrRefused) {
		t.Errorf("promote a fenced directory: err = %v, want a refusal", err)
	}
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	st, err := standby.Promote(ctx, connB, b.cfg.DataDir, standby.PromoteOptions{MaxLag: time.Nanosecond, AcceptDataLoss: true})
	if err != nil || st.Role != standby.Primary {
		t.Fatalf("promote with --accept-data-loss: status %+v, err %v", st, err)
	}
}
