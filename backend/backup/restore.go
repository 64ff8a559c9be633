package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/jackc/pgx/v5"
)

// RestoreOptions says which backup to restore where.
type RestoreOptions struct {
	Key       string // the dump's key; empty with Latest
	Latest    bool   // restore the newest good backup of Database
	Database  string // source database name, for Latest
	Prefix    string // key prefix at the destination
	TargetURL string // database to restore into
	Clean     bool   // drop the target's objects first (inside the same transaction)
	PGBin     string // directory of pg_restore; "" means PATH
	TempDir   string // where the dump is staged; "" means os.TempDir()
}

// ErrTargetNotEmpty is returned when the target has objects and Clean is not set.
var ErrTargetNotEmpty = errors.New("target database is not empty")

// Restore verifies a backup and restores it. The order is chosen so that the
// target is untouched by every failure: the target is checked first (reachable,
// empty unless Clean), then the dump is downloaded to a temporary file while
// hashing and compared with its manifest, and only then does pg_restore run,
// in a single transaction that rolls back on the first error.
func Restore(ctx context.Context, s Store, opts RestoreOptions) (Manifest, error) {
	m, err := resolve(ctx, s, opts)
	if err != nil {
		return Manifest{}, err
	}
	conn, err := newPGConn(opts.TargetURL)
	if err != nil {
		return Manifest{}, fmt.Errorf("target URL: %w", err)
	}
	if err := checkTarget(ctx, opts.TargetURL, opts.Clean); err != nil {
		return Manifest{}, err
	}
	f, err := os.CreateTemp(opts.TempDir, "pgbackup-restore-*.dump")
	if err != nil {
		return Manifest{}, fmt.Errorf("stage dump: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := download(ctx, s, m, f); err != nil {
		return Manifest{}, fmt.Errorf("%w; target untouched", err)
	}
	if err := pgRestore(ctx, conn, opts, f.Name()); err != nil {
		return Manifest{}, fmt.Errorf("restore %s (target rolled back, unchanged): %w", m.Key, err)
	}
	return m, nil
}

// checkTarget checks the target database is reachable and, unless clean,
// empty: a restore must not mix a backup into existing objects.
func checkTarget(ctx context.Context, targetURL string, clean bool) error {
	n, err := userObjects(ctx, targetURL)
	if err != nil {
		return fmt.Errorf("check target database %s: %w", RedactURL(targetURL), err)
	}
	if n > 0 && !clean {
		return fmt.Errorf("%w: %s has %d tables, views, sequences or functions; "+
			"restore into an empty database, or pass --clean to replace them", ErrTargetNotEmpty, RedactURL(targetURL), n)
	}
	return nil
}

// pgRestore runs pg_restore of the staged dump in one transaction, so the
// target is rolled back on the first error.
func pgRestore(ctx context.Context, conn pgConn, opts RestoreOptions, dumpFile string) error {
	args := []string{"--no-owner", "--no-password", "--exit-on-error", "--single-transaction", "--dbname=" + conn.url}
	if opts.Clean {
		args = append(args, "--clean", "--if-exists")
	}
	cmd := exec.CommandContext(ctx, program(opts.PGBin, "pg_restore"), append(args, dumpFile)...)
	cmd.Env = conn.env
	setParentDeathSignal(cmd)
	cmd.WaitDelay = 5 * time.Second // after a cancel, do not wait on inherited pipes
	stderr := &tail{max: 8 << 10}
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Run(); err != nil {
		return exitError("pg_restore", err, stderr)
	}
	return nil
}

func resolve(ctx context.Context, s Store, opts RestoreOptions) (Manifest, error) {
	switch {
	case opts.Latest && opts.Key != "":
		return Manifest{}, errors.New("give either --latest or --key, not both")
	case opts.Key != "":
		return ReadManifest(ctx, s, opts.Key)
	case opts.Latest:
		if opts.Database == "" {
			return Manifest{}, errors.New("--latest needs the source database name (--database or DATABASE_URL)")
		}
		cat, err := ReadCatalog(ctx, s, opts.Prefix, opts.Database)
		if err != nil {
			return Manifest{}, fmt.Errorf("list backups: %w", err)
		}
		if len(cat.Backups) == 0 {
			return Manifest{}, fmt.Errorf("no good backup of database %q at the destination: %w", opts.Database, ErrNotFound)
		}
		return cat.Backups[0], nil
	default:
		return Manifest{}, errors.New("give --latest or --key KEY")
	}
}

// Verify reads the dump of m from the store and checks its size and SHA-256
// against the manifest, without writing it anywhere.
func Verify(ctx context.Context, s Store, m Manifest) error {
	return copyVerified(ctx, s, m, io.Discard)
}

// download copies the dump into f, verifying its size and SHA-256 against m.
func download(ctx context.Context, s Store, m Manifest, f *os.File) error {
	if err := copyVerified(ctx, s, m, f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("stage dump: %w", err)
	}
	return nil
}

func copyVerified(ctx context.Context, s Store, m Manifest, w io.Writer) error {
	rc, err := s.Get(ctx, m.Key)
	if err != nil {
		return fmt.Errorf("download %s: %w", m.Key, err)
	}
	defer rc.Close()
	h := sha256.New()
	// Read one byte past the recorded size to notice an object that grew.
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(rc, m.Size+1))
	if err != nil {
		return fmt.Errorf("download %s: %w", m.Key, err)
	}
	if n != m.Size {
		return fmt.Errorf("backup %s is corrupt: %d bytes at the destination, manifest records %d (truncated or replaced)", m.Key, n, m.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.SHA256 {
		return fmt.Errorf("backup %s is corrupt: sha256 %s, manifest records %s", m.Key, got, m.SHA256)
	}
	return nil
}

// userObjects counts the relations and functions outside the system schemas.
func userObjects(ctx context.Context, targetURL string) (int, error) {
	c, err := pgx.Connect(ctx, targetURL)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	var n int
	err = c.QueryRow(ctx, `
SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
        WHERE s.nspname NOT IN ('pg_catalog', 'information_schema') AND s.nspname NOT LIKE 'pg\_toast%'
          AND s.nspname NOT LIKE 'pg\_temp\_%' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f'))
     + (SELECT count(*) FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace
        WHERE s.nspname NOT IN ('pg_catalog', 'information_schema')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e'))`).Scan(&n)
	return n, err
}
