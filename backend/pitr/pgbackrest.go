package pitr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/helloagents/infra/backend/postgres"
	"github.com/helloagents/infra/backend/redact"
)

// Runner runs pgBackRest commands for one Config.
type Runner struct {
	Config Config
	// Bin is the pgbackrest program; empty means "pgbackrest" on PATH.
	Bin string
	// ConfigFile, when set, is passed with --config (a file from Render);
	// otherwise every option travels as a PGBACKREST_* variable.
	ConfigFile string
	// Credential runs the commands as the cluster's owner (when the caller
	// is root); nil runs them as the caller.
	Credential *syscall.Credential
}

// Error is a failed pgBackRest command: the command name, its exit code
// and its (secret-free) output.
type Error struct {
	Command string
	Code    int
	Output  string
}

func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Output)
	if len(msg) > 4000 {
		msg = "…" + msg[len(msg)-4000:]
	}
	return fmt.Sprintf("pgbackrest %s failed (exit %d): %s", e.Command, e.Code, msg)
}

// Run runs `pgbackrest <command> args...` with the stanza and returns its
// standard output. Secrets go through the environment only, and are
// scrubbed from any output that reaches an error.
func (r Runner) Run(ctx context.Context, command string, args ...string) ([]byte, error) {
	bin := r.Bin
	if bin == "" {
		bin = "pgbackrest"
	}
	argv := []string{}
	if r.ConfigFile != "" {
		argv = append(argv, "--config="+r.ConfigFile)
	}
	argv = append(argv, "--stanza="+r.Config.Stanza)
	argv = append(argv, args...)
	argv = append(argv, command)
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Env = r.env()
	if r.Credential != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.Credential}
	}
	// A cancelled command (the job's SIGTERM) gets SIGTERM too: pgBackRest
	// then stops cleanly and releases its lock; SIGKILL only after WaitDelay
	// (components.StopFor gives the job that long).
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		code := -1
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		out := r.Scrub(stderr.String() + stdout.String())
		if ctx.Err() != nil {
			out = fmt.Sprintf("%s (%v)", out, ctx.Err())
		}
		return nil, &Error{Command: command, Code: code, Output: out}
	}
	return stdout.Bytes(), nil
}

// env is the child's environment: the caller's, minus any inherited
// PGBACKREST_* (so nothing from the operator's shell changes the repository),
// plus the options (when no config file is used) and the secrets.
func (r Runner) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, postgres.EnvPGBackRestPrefix) {
			env = append(env, kv)
		}
	}
	if r.ConfigFile == "" {
		env = append(env, r.Config.Env()...)
	}
	return append(env, r.Config.SecretEnv()...)
}

// Scrub replaces every configured secret in s, for anything shown or sent.
func (r Runner) Scrub(s string) string {
	for _, secret := range r.Config.secrets() {
		s = strings.ReplaceAll(s, secret, redact.Mask)
	}
	return s
}

// StanzaCreate creates the stanza (idempotent) and then runs `check`, which
// forces a WAL switch and waits until the segment is in the repository: the
// proof that archive_command works end to end.
func (r Runner) StanzaCreate(ctx context.Context) error {
	if _, err := r.Run(ctx, "stanza-create"); err != nil {
		return err
	}
	return r.Check(ctx)
}

// Check runs `pgbackrest check`.
func (r Runner) Check(ctx context.Context) error {
	_, err := r.Run(ctx, "check")
	return err
}

// BackupType is full, diff or incr.
type BackupType string

// The backup types.
const (
	Full BackupType = "full"
	Diff BackupType = "diff"
	Incr BackupType = "incr"
)

// Backup takes a backup and returns the repository's state after it. Expiry
// by the retention settings runs as part of the backup.
func (r Runner) Backup(ctx context.Context, typ BackupType) (BackupInfo, error) {
	switch typ {
	case Full, Diff, Incr:
	default:
		return BackupInfo{}, fmt.Errorf("backup type %q: want full, diff or incr", typ)
	}
	if _, err := r.Run(ctx, "backup", "--type="+string(typ)); err != nil {
		return BackupInfo{}, err
	}
	info, err := r.Info(ctx)
	if err != nil {
		return BackupInfo{}, err
	}
	if len(info.Backups) == 0 {
		return BackupInfo{}, errors.New("pgbackrest backup succeeded but info lists no backup")
	}
	return info.Backups[len(info.Backups)-1], nil
}

// Info is the repository's view of the stanza.
type Info struct {
	Status     string
	StatusCode int
	ArchiveMin string // oldest WAL segment kept, "" when none
	ArchiveMax string // newest WAL segment archived
	Backups    []BackupInfo
	SystemID   uint64
	PGVersion  string
	Cipher     string
	// RepoError is the first line of the repository's error status.
	RepoError string
}

// BackupInfo is one backup in the repository.
type BackupInfo struct {
	Label        string
	Type         BackupType
	Start, Stop  time.Time
	ArchiveStart string
	ArchiveStop  string
	Size         int64 // database size
	RepoSize     int64 // bytes stored in the repository
}

// LastFull returns the newest full backup.
func (i Info) LastFull() (BackupInfo, bool) {
	for k := len(i.Backups) - 1; k >= 0; k-- {
		if i.Backups[k].Type == Full {
			return i.Backups[k], true
		}
	}
	return BackupInfo{}, false
}

// Info runs `pgbackrest info --output=json`.
func (r Runner) Info(ctx context.Context) (Info, error) {
	out, err := r.Run(ctx, "info", "--output=json")
	if err != nil {
		return Info{}, err
	}
	info, err := parseInfo(out)
	if err != nil {
		return info, err
	}
	if info.StatusCode == 99 { // "other": the repository could not be read
		return info, fmt.Errorf("the repository cannot be read (%s): a wrong repository passphrase, "+
			"wrong credentials or a damaged backup.info", info.RepoError)
	}
	return info, nil
}

// printable keeps the bytes JSON allows in strings: a wrong passphrase makes
// pgBackRest quote undecryptable bytes in its status message.
func printable(b []byte) []byte {
	b = bytes.ToValidUTF8(b, []byte("?"))
	return bytes.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' ' // whitespace between tokens; a plain space inside strings
		}
		return r
	}, b)
}

// infoStanza is one stanza of `pgbackrest info --output=json`, the fields
// read from it.
type infoStanza struct {
	Name    string        `json:"name"`
	Cipher  string        `json:"cipher"`
	Archive []infoArchive `json:"archive"`
	Backup  []infoBackup  `json:"backup"`
	DB      []struct {
		SystemID uint64 `json:"system-id"`
		Version  string `json:"version"`
	} `json:"db"`
	Status infoStatus `json:"status"`
	Repo   []struct {
		Status infoStatus `json:"status"`
	} `json:"repo"`
}

type infoStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// infoArchive is the WAL archive of one PostgreSQL version.
type infoArchive struct {
	ID  string `json:"id"`
	Min string `json:"min"`
	Max string `json:"max"`
}

type infoBackup struct {
	Label   string `json:"label"`
	Type    string `json:"type"`
	Archive struct {
		Start string `json:"start"`
		Stop  string `json:"stop"`
	} `json:"archive"`
	Timestamp struct {
		Start int64 `json:"start"`
		Stop  int64 `json:"stop"`
	} `json:"timestamp"`
	Info struct {
		Size       int64 `json:"size"`
		Repository struct {
			Delta int64 `json:"delta"`
		} `json:"repository"`
	} `json:"info"`
}

func parseInfo(out []byte) (Info, error) {
	var raw []infoStanza
	if err := json.Unmarshal(printable(out), &raw); err != nil {
		return Info{}, fmt.Errorf("parse pgbackrest info: %w", err)
	}
	if len(raw) != 1 {
		return Info{}, fmt.Errorf("pgbackrest info: want one stanza, got %d", len(raw))
	}
	s := raw[0]
	info := Info{Status: s.Status.Message, StatusCode: s.Status.Code, Cipher: s.Cipher, RepoError: s.repoError()}
	info.ArchiveMin, info.ArchiveMax = archiveRange(s.Archive)
	for _, b := range s.Backup {
		info.Backups = append(info.Backups, b.backupInfo())
	}
	if len(s.DB) > 0 {
		info.SystemID = s.DB[len(s.DB)-1].SystemID
		info.PGVersion = s.DB[len(s.DB)-1].Version
	}
	return info, nil
}

// repoError is the first line of the last failing repository's status
// message: what follows may quote undecryptable bytes.
func (s infoStanza) repoError() string {
	var msg string
	for _, r := range s.Repo {
		if r.Status.Code != 0 {
			first, _, _ := strings.Cut(r.Status.Message, "\n")
			msg = strings.TrimSuffix(first, ":")
		}
	}
	return msg
}

// archiveRange is the oldest and newest WAL segment over every archive.
func archiveRange(archives []infoArchive) (oldest, newest string) {
	for _, a := range archives {
		if oldest == "" || (a.Min != "" && a.Min < oldest) {
			oldest = a.Min
		}
		if a.Max > newest {
			newest = a.Max
		}
	}
	return oldest, newest
}

func (b infoBackup) backupInfo() BackupInfo {
	return BackupInfo{
		Label: b.Label, Type: BackupType(b.Type),
		Start: time.Unix(b.Timestamp.Start, 0).UTC(), Stop: time.Unix(b.Timestamp.Stop, 0).UTC(),
		ArchiveStart: b.Archive.Start, ArchiveStop: b.Archive.Stop,
		Size: b.Info.Size, RepoSize: b.Info.Repository.Delta,
	}
}
