package pitr

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// TargetType says how far a recovery replays the archived WAL.
type TargetType string

// The recovery targets.
const (
	// Latest replays every archived segment (pgBackRest --type=default).
	Latest TargetType = "latest"
	// Time stops after the last transaction committed at or before a time.
	Time TargetType = "time"
	// Name stops at a restore point made with pg_create_restore_point.
	Name TargetType = "name"
)

// Target is where a recovery stops.
type Target struct {
	Type TargetType
	Time time.Time // Type Time
	Name string    // Type Name
}

func (t Target) String() string {
	switch t.Type {
	case Time:
		return "time " + t.Time.UTC().Format(time.RFC3339Nano)
	case Name:
		return fmt.Sprintf("restore point %q", t.Name)
	default:
		return "the latest archived WAL"
	}
}

// pgTime is the recovery_target_time form PostgreSQL parses exactly.
const pgTime = "2006-01-02 15:04:05.999999-07"

func (t Target) restoreArgs() ([]string, error) {
	switch t.Type {
	case Latest, "":
		return []string{"--type=default"}, nil
	case Time:
		if t.Time.IsZero() {
			return nil, errors.New("time target: a time is required")
		}
		return []string{"--type=time", "--target=" + t.Time.UTC().Format(pgTime)}, nil
	case Name:
		if t.Name == "" || strings.ContainsAny(t.Name, "'\"\n\\") {
			return nil, fmt.Errorf("restore point name %q: must be non-empty without quotes or backslashes", t.Name)
		}
		return []string{"--type=name", "--target=" + t.Name}, nil
	}
	return nil, fmt.Errorf("target type %q: want latest, time or name", t.Type)
}

// RecoverOptions describe one recovery.
type RecoverOptions struct {
	Target Target
	// DataDir is the new cluster's data directory. It must not exist or be
	// an empty directory: a recovery never overwrites a cluster.
	DataDir string
	// BinDir holds the PostgreSQL programs of the repository's major version.
	BinDir string
	// Set restores one backup by label; empty lets pgBackRest choose (the
	// newest backup that ends before a time target).
	Set string
	// Timeout bounds the WAL replay (default 1 hour).
	Timeout time.Duration
	// Progress, when set, receives one line per step.
	Progress func(step string)
}

// Guard-rail errors: the target directory is not touched when these occur.
var (
	ErrTargetNotEmpty = errors.New("target data directory is not empty")
	ErrTargetRunning  = errors.New("target data directory belongs to a running or crashed server (postmaster.pid present)")
	ErrNoBackup       = errors.New("the repository holds no backup to restore")
	// ErrMove is a recovered cluster that could not be moved into place:
	// the only failure after which the target may hold part of the files.
	ErrMove = errors.New("move the recovered cluster into place")
)

// Plan is what a recovery will do, shown before it starts (and by --dry-run).
type Plan struct {
	Stanza     string
	Repository string // type and location, no secrets
	Backup     BackupInfo
	ArchiveMax string
	Target     Target
	DataDir    string
}

// Plan checks the guard rails and reads the repository without changing
// anything.
func (r Runner) Plan(ctx context.Context, o RecoverOptions) (Plan, error) {
	if _, err := o.Target.restoreArgs(); err != nil {
		return Plan{}, err
	}
	if err := checkTarget(o.DataDir); err != nil {
		return Plan{}, err
	}
	info, err := r.Info(ctx)
	if err != nil {
		return Plan{}, fmt.Errorf("read the repository: %w", err)
	}
	if len(info.Backups) == 0 {
		return Plan{}, fmt.Errorf("stanza %s (%s): %w", r.Config.Stanza, info.Status, ErrNoBackup)
	}
	backup, err := chooseBackup(info.Backups, o)
	if err != nil {
		return Plan{}, err
	}
	return Plan{Stanza: r.Config.Stanza, Repository: r.Config.Describe(), ArchiveMax: info.ArchiveMax,
		Target: o.Target, DataDir: o.DataDir, Backup: backup}, nil
}

// chooseBackup picks the backup to restore from the repository's (oldest
// first): the set asked for, else for a time target the newest that ended
// by that time, else the newest.
func chooseBackup(backups []BackupInfo, o RecoverOptions) (BackupInfo, error) {
	chosen := backups[len(backups)-1]
	switch {
	case o.Set != "":
		found := false
		for _, b := range backups {
			if b.Label == o.Set {
				chosen, found = b, true
			}
		}
		if !found {
			return BackupInfo{}, fmt.Errorf("backup set %q is not in the repository", o.Set)
		}
	case o.Target.Type == Time:
		found := false
		for _, b := range backups {
			if !b.Stop.After(o.Target.Time) {
				chosen, found = b, true
			}
		}
		if !found {
			return BackupInfo{}, fmt.Errorf("no backup ended before %s (the oldest ended at %s): cannot recover to that time",
				o.Target.Time.UTC().Format(time.RFC3339), backups[0].Stop.Format(time.RFC3339))
		}
	}
	return chosen, nil
}

// Describe names the repository without secrets.
func (c Config) Describe() string {
	if c.Repo.Type == RepoS3 {
		return fmt.Sprintf("s3://%s%s at %s", c.Repo.Bucket, c.Repo.Path, c.Repo.Endpoint)
	}
	return "posix " + c.Repo.Path
}

// checkTarget refuses a data directory that holds anything.
func checkTarget(dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("target data directory %q: must be an absolute path", dir)
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if _, err := os.Stat(filepath.Dir(dir)); err != nil {
			return fmt.Errorf("target data directory %s: parent: %w", dir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("target data directory %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.Name() == "postmaster.pid" {
			return fmt.Errorf("%s: %w", dir, ErrTargetRunning)
		}
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s holds %d entries: %w", dir, len(entries), ErrTargetNotEmpty)
	}
	return nil
}

// Result is a finished recovery.
type Result struct {
	Plan
	// EndWAL is the last WAL segment replayed; EndLSN where the new timeline
	// begins.
	EndWAL, EndLSN string
	// Timeline is the new cluster's timeline after promotion.
	Timeline        int
	Restore, Replay time.Duration
}

// Recover restores a backup into a staging directory, replays WAL to the
// target in a private server (unix socket only, no TCP), promotes it, stops
// it cleanly and only then moves the files into o.DataDir. On any failure
// the staging files are removed and o.DataDir is left as it was.
func (r Runner) Recover(ctx context.Context, o RecoverOptions) (res Result, err error) {
	progress := o.progress()
	plan, err := r.Plan(ctx, o)
	if err != nil {
		return Result{}, err
	}
	res.Plan = plan
	progress(fmt.Sprintf("restoring backup %s (%s, %d MB) from %s into %s, target %s",
		plan.Backup.Label, plan.Backup.Type, plan.Backup.Size>>20, plan.Repository, o.DataDir, o.Target))
	work, err := r.mkdirOwned("", filepath.Join(os.TempDir(), "pitr-recover-"))
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(work)
	stage, err := r.stageDir(o.DataDir)
	if err != nil {
		return res, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(stage)
		}
	}()
	rr := r.private(work)
	if res.Restore, err = rr.restore(ctx, plan, o, stage); err != nil {
		return res, err
	}
	progress(fmt.Sprintf("restored the backup in %s; replaying WAL to %s", res.Restore.Round(time.Millisecond), o.Target))
	if err := rr.replayWAL(ctx, o, plan, stage, work, &res); err != nil {
		return res, err
	}
	progress(fmt.Sprintf("replayed WAL in %s up to %s (segment %s); new timeline %d",
		res.Replay.Round(time.Millisecond), res.EndLSN, res.EndWAL, res.Timeline))

	if err := r.moveInto(stage, o.DataDir); err != nil {
		return res, fmt.Errorf("%w: %w", ErrMove, err)
	}
	progress("recovered cluster is in " + o.DataDir)
	return res, nil
}

// progress is o.Progress, or a func that drops the steps.
func (o RecoverOptions) progress() func(string) {
	if o.Progress == nil {
		return func(string) {}
	}
	return o.Progress
}

// private is r with its own spool and lock directories under work: a
// primary on this host keeps its own.
func (r Runner) private(work string) Runner {
	r.Config.SpoolPath = filepath.Join(work, "spool")
	r.Config.LockPath = filepath.Join(work, "lock")
	return r
}

// restore runs `pgbackrest restore` of the planned backup into stage and
// returns how long it took.
func (r Runner) restore(ctx context.Context, plan Plan, o RecoverOptions, stage string) (time.Duration, error) {
	targetArgs, _ := o.Target.restoreArgs()
	args := append([]string{"--pg1-path=" + stage, "--archive-mode=preserve"}, targetArgs...)
	if o.Target.Type == Time || o.Target.Type == Name {
		args = append(args, "--target-action=promote") // latest promotes by itself
	}
	if plan.Backup.Label != "" && (o.Set != "" || o.Target.Type == Time) {
		args = append(args, "--set="+plan.Backup.Label)
	}
	start := time.Now()
	if _, err := r.Run(ctx, "restore", args...); err != nil {
		return 0, fmt.Errorf("restore backup %s: %w", plan.Backup.Label, err)
	}
	return time.Since(start), nil
}

// replayWAL replays the staged cluster to the target and records in res
// how long it took and where the new timeline begins.
func (r Runner) replayWAL(ctx context.Context, o RecoverOptions, plan Plan, stage, work string, res *Result) error {
	start := time.Now()
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = time.Hour
	}
	if err := r.replay(ctx, o.BinDir, stage, work, timeout); err != nil {
		return err
	}
	res.Replay = time.Since(start)
	var err error
	res.Timeline, res.EndLSN, err = switchPoint(stage)
	if err != nil {
		return err
	}
	res.EndWAL, err = lastByteSegment(res.Timeline-1, res.EndLSN)
	if err != nil {
		return err
	}
	return checkArchiveReached(o, plan, res.EndWAL)
}

// checkArchiveReached refuses a recovery to the latest WAL that stopped
// before the end of the archive: a segment in between is missing.
func checkArchiveReached(o RecoverOptions, plan Plan, endWAL string) error {
	if (o.Target.Type == Latest || o.Target.Type == "") && plan.ArchiveMax != "" && endWAL[8:] < plan.ArchiveMax[8:] {
		return fmt.Errorf("recovery stopped in WAL segment %s but the repository's archive reaches %s: "+
			"a WAL segment in between is missing or unreadable (run `pgbackrest verify`); nothing was written to %s",
			endWAL, plan.ArchiveMax, o.DataDir)
	}
	return nil
}

// stageDir makes the directory the restore writes to: inside an existing
// (empty) target, which may be a volume's mount point, or beside a missing one.
func (r Runner) stageDir(target string) (string, error) {
	if fi, err := os.Stat(target); err == nil && fi.IsDir() {
		return r.mkdirOwned(target, ".pitr-restore-")
	}
	return r.mkdirOwned(filepath.Dir(target), "."+filepath.Base(target)+".pitr-restore-")
}

// mkdirOwned creates a fresh 0700 directory owned by the commands' user.
func (r Runner) mkdirOwned(parent, prefix string) (string, error) {
	if parent == "" {
		parent, prefix = filepath.Split(prefix)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	dir := filepath.Join(parent, prefix+hex.EncodeToString(b))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	if r.Credential != nil {
		if err := os.Chown(dir, int(r.Credential.Uid), int(r.Credential.Gid)); err != nil {
			return "", fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	return dir, nil
}

// replay runs postgres on the restored directory until it has promoted.
// Archiving is on with a command that always fails: segments and the
// timeline history written now stay queued (.ready) and are archived by the
// server that later runs this directory, so the repository gets the new
// timeline in full.
func (r Runner) replay(ctx context.Context, binDir, dataDir, work string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sock := filepath.Join(work, "sock")
	if err := os.Mkdir(sock, 0o700); err != nil {
		return err
	}
	if r.Credential != nil {
		if err := os.Chown(sock, int(r.Credential.Uid), int(r.Credential.Gid)); err != nil {
			return err
		}
	}
	logPath := filepath.Join(work, "replay.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	srv, err := r.startReplay(ctx, binDir, dataDir, sock, logFile)
	if err != nil {
		return err
	}
	return r.awaitPromotion(ctx, srv, r.replayConnString(sock), logPath, timeout)
}

// replayPort only names the socket file in the private directory.
const replayPort = 5432

// replayServer is the private postgres of a WAL replay.
type replayServer struct {
	cmd    *exec.Cmd
	exited chan error // receives the exit once
}

// startReplay starts postgres on dataDir reachable only on a unix socket in
// sock, its output going to logFile.
func (r Runner) startReplay(ctx context.Context, binDir, dataDir, sock string, logFile *os.File) (replayServer, error) {
	// Not killed with ctx: a cancelled recovery stops the server cleanly
	// (replayServer.stop), so the staging directory is never left half-written.
	cmd := exec.CommandContext(context.WithoutCancel(ctx), filepath.Join(binDir, "postgres"), "-D", dataDir,
		"-c", "listen_addresses=", "-c", "unix_socket_directories="+sock, "-c", "port="+strconv.Itoa(replayPort),
		"-c", "archive_mode=on", "-c", "archive_command=false", "-c", "hot_standby=on",
		"-c", "logging_collector=off")
	cmd.Env = r.env()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if r.Credential != nil {
		cmd.SysProcAttr.Credential = r.Credential
	}
	if err := cmd.Start(); err != nil {
		return replayServer{}, fmt.Errorf("start postgres for WAL replay: %w", err)
	}
	srv := replayServer{cmd: cmd, exited: make(chan error, 1)}
	go func() { srv.exited <- cmd.Wait() }()
	return srv, nil
}

// stop shuts the server down fast (a clean checkpoint), killing it after 2
// minutes.
func (s replayServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited: //nolint:errcheck // the exit status of a process we stopped tells nothing
	case <-time.After(2 * time.Minute):
		_ = s.cmd.Process.Kill()
		<-s.exited //nolint:errcheck // the exit status of a process we stopped tells nothing
	}
}

// replayConnString reaches the replaying server as the configured user.
func (r Runner) replayConnString(sock string) string {
	user := r.Config.User
	if user == "" {
		user = "postgres"
	}
	return fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=disable connect_timeout=5", sock, replayPort, user)
}

// awaitPromotion polls the server until it has left recovery, then stops it.
// A server that exits first, or outlives ctx, fails the replay with the
// errors of its log.
func (r Runner) awaitPromotion(ctx context.Context, srv replayServer, connStr, logPath string, timeout time.Duration) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-srv.exited:
			return r.replayFailed(err, logPath)
		case <-ctx.Done():
			srv.stop()
			return fmt.Errorf("WAL replay did not finish within %s: %s", timeout, r.Scrub(logErrors(logPath)))
		case <-tick.C:
		}
		if promoted, err := notInRecovery(ctx, connStr); err == nil && promoted {
			return r.stopRecovered(srv, logPath)
		}
	}
}

// replayFailed explains a server that exited before promoting.
func (r Runner) replayFailed(exit error, logPath string) error {
	details := r.Scrub(logErrors(logPath))
	if strings.Contains(details, "recovery ended before configured recovery target was reached") {
		return fmt.Errorf("the recovery target was not reached: the archived WAL ends before it, or a WAL segment "+
			"before it is missing or unreadable (run `pgbackrest verify`):\n%s", details)
	}
	return fmt.Errorf("WAL replay failed (postgres exited: %w): %s", exit, details)
}

// stopRecovered shuts the promoted server down cleanly: the data directory
// is then consistent and needs no recovery when the region's server starts
// on it.
func (r Runner) stopRecovered(srv replayServer, logPath string) error {
	_ = srv.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-srv.exited:
		if err != nil {
			return fmt.Errorf("stop the recovered server: %w: %s", err, r.Scrub(logErrors(logPath)))
		}
		return nil
	case <-time.After(2 * time.Minute):
		_ = srv.cmd.Process.Kill()
		<-srv.exited //nolint:errcheck // the exit status of a process we stopped tells nothing
		return errors.New("the recovered server did not stop within 2 minutes")
	}
}

func notInRecovery(ctx context.Context, connStr string) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(cctx, connStr)
	if err != nil {
		return false, err
	}
	defer c.Close(context.Background())
	var rec bool
	if err := c.QueryRow(cctx, "SELECT pg_is_in_recovery()").Scan(&rec); err != nil {
		return false, err
	}
	return !rec, nil
}

// logErrors returns the log lines that say why a replay failed.
func logErrors(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log)"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(io.LimitReader(f, 16<<20))
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "the database system is starting up") || strings.Contains(l, "not yet accepting connections") {
			continue // our own polls
		}
		if strings.Contains(l, "FATAL") || strings.Contains(l, "ERROR") || strings.Contains(l, "PANIC") ||
			strings.Contains(l, "recovery stopping") || strings.Contains(l, "redo done") {
			lines = append(lines, l)
		}
	}
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	if len(lines) == 0 {
		return "(no error in the server log)"
	}
	return strings.Join(lines, "\n")
}

// switchPoint reads the newest timeline history file: the new timeline and
// the LSN where it branched off (the end of the replayed WAL).
func switchPoint(dataDir string) (int, string, error) {
	matches, err := filepath.Glob(filepath.Join(dataDir, "pg_wal", "*.history"))
	if err != nil || len(matches) == 0 {
		return 0, "", fmt.Errorf("the recovered cluster has no timeline history file: did it promote?")
	}
	newest := matches[len(matches)-1] // hex names of equal length sort by timeline
	tli, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(newest), ".history"), 16, 32)
	if err != nil {
		return 0, "", fmt.Errorf("timeline history %s: %w", newest, err)
	}
	body, err := os.ReadFile(newest)
	if err != nil {
		return 0, "", err
	}
	var last string
	for _, l := range strings.Split(string(body), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && !strings.HasPrefix(f[0], "#") {
			last = f[1]
		}
	}
	if last == "" {
		return 0, "", fmt.Errorf("timeline history %s names no switch point", newest)
	}
	return int(tli), last, nil
}

// lastByteSegment names the WAL segment (16 MiB) holding the byte before lsn
// on timeline tli: the last byte the recovery replayed.
func lastByteSegment(tli int, lsn string) (string, error) {
	hi, lo, ok := strings.Cut(lsn, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return "", fmt.Errorf("bad LSN %q", lsn)
	}
	pos := h<<32 | l
	if pos > 0 {
		pos--
	}
	const segSize = 16 << 20
	seg := pos / segSize
	const perLog = 0x100000000 / segSize
	return fmt.Sprintf("%08X%08X%08X", tli, seg/perLog, seg%perLog), nil
}

// moveInto moves the staged cluster into target: a rename when target does
// not exist, else entry by entry into the (empty) directory, which may be a
// volume's mount point that cannot itself be replaced.
func (r Runner) moveInto(stage, target string) error {
	if _, err := os.Stat(target); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(stage, target); err != nil {
			return fmt.Errorf("move the recovered cluster into %s: %w", target, err)
		}
		return nil
	}
	// PostgreSQL starts only on a 0700 directory owned by its user.
	if err := os.Chmod(target, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", target, err)
	}
	if r.Credential != nil {
		if err := os.Chown(target, int(r.Credential.Uid), int(r.Credential.Gid)); err != nil {
			return fmt.Errorf("chown %s: %w", target, err)
		}
	}
	entries, err := os.ReadDir(stage)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(stage, e.Name()), filepath.Join(target, e.Name())); err != nil {
			return fmt.Errorf("move the recovered cluster into %s: %w", target, err)
		}
	}
	return os.Remove(stage)
}
