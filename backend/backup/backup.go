package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// BackupOptions says what to back up and where in the destination.
type BackupOptions struct {
	DatabaseURL string
	Prefix      string           // key prefix at the destination ("" for file://)
	PGBin       string           // directory of pg_dump; "" means PATH
	Now         func() time.Time // the backup's timestamp; time.Now when nil
}

// Backup streams `pg_dump -Fc` of the database to the store, hashing it on
// the way, then writes the manifest. Memory use is the store's upload buffer,
// independent of the database size. On any failure no manifest is written and
// the dump, if it was stored, is deleted; a crash leaves at most an orphan
// that ReadCatalog does not count as a backup.
func Backup(ctx context.Context, s Store, opts BackupOptions) (Manifest, error) {
	db, err := DatabaseName(opts.DatabaseURL)
	if err != nil {
		return Manifest{}, fmt.Errorf("DATABASE_URL: %w", err)
	}
	conn, err := newPGConn(opts.DatabaseURL)
	if err != nil {
		return Manifest{}, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	created := now().UTC()
	key := DumpKey(opts.Prefix, db, created)
	version := pgDumpVersion(ctx, opts.PGBin)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dump, err := startDump(ctx, conn, opts.PGBin)
	if err != nil {
		return Manifest{}, err
	}
	size, sum, err := storeDump(ctx, cancel, s, key, dump)
	if err != nil {
		return Manifest{}, err
	}
	m := Manifest{
		Version: 1, Key: key, Database: db, Size: size,
		SHA256: sum, Created: created, PGDump: version,
	}
	if err := writeManifest(ctx, s, m); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// pgDump is a running pg_dump: the read end of its output and its exit.
type pgDump struct {
	out    *io.PipeReader
	exited <-chan error // receives pg_dump's exit error once the pipe is closed
}

// startDump starts `pg_dump -Fc` writing into a pipe. The pipe ends with
// pg_dump's exit: a clean EOF only when it succeeded, so a failed dump fails
// the upload and nothing is published.
func startDump(ctx context.Context, conn pgConn, binDir string) (pgDump, error) {
	cmd := exec.CommandContext(ctx, program(binDir, "pg_dump"),
		"--format=custom", "--no-password", "--dbname="+conn.url)
	cmd.Env = conn.env
	setParentDeathSignal(cmd)
	cmd.WaitDelay = 5 * time.Second // after a cancel, do not wait on inherited pipes
	stderr := &tail{max: 8 << 10}
	cmd.Stderr = stderr
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		return pgDump{}, fmt.Errorf("start pg_dump: %w", err)
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		if err != nil {
			err = exitError("pg_dump", err, stderr)
		}
		_ = pw.CloseWithError(err)
		exited <- err
	}()
	return pgDump{out: pr, exited: exited}, nil
}

// storeDump uploads the dump to key, hashing and counting it on the way, and
// returns the stored size and the hex SHA-256. cancel stops pg_dump if the
// upload fails first. On any failure a stored dump is deleted.
func storeDump(ctx context.Context, cancel context.CancelFunc, s Store, key string, d pgDump) (int64, string, error) {
	h := sha256.New()
	var counted countWriter
	size, putErr := s.Put(ctx, key, io.TeeReader(d.out, io.MultiWriter(h, &counted)))
	if putErr != nil {
		cancel()
		_ = d.out.CloseWithError(putErr)
	}
	dumpErr := <-d.exited
	if putErr != nil {
		// A failed pg_dump reaches here through the pipe, inside putErr.
		return 0, "", fmt.Errorf("backup %s: %w", key, putErr)
	}
	if dumpErr != nil { // not expected from a Store that reads to EOF; be safe
		_ = s.Delete(context.WithoutCancel(ctx), key)
		return 0, "", fmt.Errorf("backup %s: %w", key, dumpErr)
	}
	if size != int64(counted) {
		_ = s.Delete(context.WithoutCancel(ctx), key)
		return 0, "", fmt.Errorf("backup %s: destination stored %d bytes, pg_dump produced %d", key, size, counted)
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}

// writeManifest stores m beside its dump, last: it is what makes the dump a
// backup. If it cannot be written the dump is deleted.
func writeManifest(ctx context.Context, s Store, m Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if _, err := s.Put(ctx, m.Key+ManifestSuffix, bytes.NewReader(append(data, '\n'))); err != nil {
		_ = s.Delete(context.WithoutCancel(ctx), m.Key)
		return fmt.Errorf("backup %s: write manifest: %w", m.Key, err)
	}
	return nil
}

func pgDumpVersion(ctx context.Context, binDir string) string {
	out, err := exec.CommandContext(ctx, program(binDir, "pg_dump"), "--version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// countWriter counts the bytes written to it.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
