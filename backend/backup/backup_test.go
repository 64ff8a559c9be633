package backup_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/helloagents/infra/backend/backup"
	"github.com/helloagents/infra/backend/backup/filestore"
	"github.com/helloagents/infra/backend/backup/s3store"
	"github.com/helloagents/infra/backend/internal/dbfixture"
	"github.com/helloagents/infra/backend/internal/s3test"
	"github.com/helloagents/infra/backend/pgtest"
)

// destinations returns a fresh store of each kind, with its key prefix.
func destinations(t *testing.T) map[string]func(t *testing.T) (backup.Store, string) {
	return map[string]func(t *testing.T) (backup.Store, string){
		"file": func(t *testing.T) (backup.Store, string) {
			s, err := filestore.New(filepath.Join(t.TempDir(), "backups"))
			if err != nil {
				t.Fatal(err)
			}
			return s, ""
		},
		"s3": func(t *testing.T) (backup.Store, string) {
			srv := s3test.Start(t)
			bucket := srv.CreateBucket(t, "backups")
			s, err := s3store.New(s3store.Config{Endpoint: srv.Endpoint, Region: srv.Region,
				AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey, Bucket: bucket, PartSize: 5 << 20})
			if err != nil {
				t.Fatal(err)
			}
			return s, "pg/nightly"
		},
	}
}

// TestBackupDropRestore is the drill: back up, drop the database, recreate it
// empty, restore the latest backup, and compare every table's row count and
// content checksum with the original.
func TestBackupDropRestore(t *testing.T) {
	pg := pgtest.Start(t)
	for name, newStore := range destinations(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store, prefix := newStore(t)
			db := "app_" + name
			url := pg.CreateDB(t, db)
			dbfixture.Seed(t, url, 3000)
			dbfixture.Blobs(t, url, 12) // a dump of several 5 MiB parts
			want := dbfixture.Fingerprint(t, url)

			m, err := backup.Backup(ctx, store, backup.BackupOptions{DatabaseURL: url, Prefix: prefix, PGBin: pgtest.BinDir()})
			if err != nil {
				t.Fatalf("backup: %v", err)
			}
			if !strings.HasPrefix(m.Key, strings.TrimPrefix(prefix+"/"+db+"/", "/")) || !strings.HasSuffix(m.Key, ".dump") {
				t.Errorf("key %q: want <prefix>/<database>/<timestamp>.dump", m.Key)
			}
			t.Logf("backup %s: %d bytes", m.Key, m.Size)
			cat, err := backup.ReadCatalog(ctx, store, prefix, db)
			if err != nil || len(cat.Backups) != 1 || cat.Backups[0].SHA256 != m.SHA256 || len(cat.Orphans) != 0 {
				t.Fatalf("catalog = %+v, %v; want exactly the new backup", cat, err)
			}

			dbfixture.Exec(t, pg.URL("postgres"), "DROP DATABASE "+db)
			pg.CreateDB(t, db)
			got, err := backup.Restore(ctx, store, backup.RestoreOptions{Latest: true, Database: db, Prefix: prefix,
				TargetURL: url, PGBin: pgtest.BinDir(), TempDir: t.TempDir()})
			if err != nil {
				t.Fatalf("restore: %v", err)
			}
			if got.Key != m.Key {
				t.Errorf("restored %s, want %s", got.Key, m.Key)
			}
			assertSame(t, want, dbfixture.Fingerprint(t, url))

			// A second restore into the now non-empty database is refused...
			_, err = backup.Restore(ctx, store, backup.RestoreOptions{Key: m.Key, TargetURL: url, PGBin: pgtest.BinDir()})
			if !errors.Is(err, backup.ErrTargetNotEmpty) {
				t.Fatalf("restore into a non-empty target: err = %v, want ErrTargetNotEmpty", err)
			}
			// ...unless --clean, which replaces its content.
			dbfixture.Exec(t, url, "DELETE FROM lessons WHERE id % 2 = 0; CREATE TABLE extra (x int)")
			if _, err := backup.Restore(ctx, store, backup.RestoreOptions{Key: m.Key, TargetURL: url, Clean: true,
				PGBin: pgtest.BinDir()}); err != nil {
				t.Fatalf("restore --clean: %v", err)
			}
			after := dbfixture.Fingerprint(t, url)
			delete(after, "public.extra") // --clean drops what the dump has, not everything
			assertSame(t, want, after)
		})
	}
}

func assertSame(t *testing.T, want, got map[string]string) {
	t.Helper()
	if len(want) < 5 {
		t.Fatalf("fingerprint of only %d objects: the fixture did not load", len(want))
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			t.Errorf("%s: restored %q, original %q", k, got[k], want[k])
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: restored but not in the original", k)
		}
	}
}

// TestFailedDumpLeavesNothing: when pg_dump fails the upload is aborted and no
// backup, good or orphaned, is left.
func TestFailedDumpLeavesNothing(t *testing.T) {
	pg := pgtest.Start(t)
	for name, newStore := range destinations(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store, prefix := newStore(t)
			_, err := backup.Backup(ctx, store, backup.BackupOptions{DatabaseURL: pg.URL("missing_db"), Prefix: prefix,
				PGBin: pgtest.BinDir()})
			if err == nil || !strings.Contains(err.Error(), "pg_dump") {
				t.Fatalf("backup of a missing database: err = %v, want a pg_dump error", err)
			}
			objs, err := store.List(ctx, "")
			if err != nil || len(objs) != 0 {
				t.Fatalf("objects after a failed backup: %+v, %v; want none", objs, err)
			}
		})
	}
}

// TestPrune: only backups older than the retention go, and the newest
// keep-last always survive; orphans go only when older than the retention.
func TestPrune(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.CreateDB(t, "app")
	dbfixture.Exec(t, url, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
	other := pg.CreateDB(t, "other")
	store, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().UTC()
	take := func(dbURL string, age time.Duration) string {
		m, err := backup.Backup(ctx, store, backup.BackupOptions{DatabaseURL: dbURL, PGBin: pgtest.BinDir(),
			Now: func() time.Time { return now.Add(-age) }})
		if err != nil {
			t.Fatalf("backup: %v", err)
		}
		return m.Key
	}
	day := 24 * time.Hour
	a40, a20, a10, a8 := take(url, 40*day), take(url, 20*day), take(url, 10*day), take(url, 8*day)
	a1 := take(url, day)
	o30, o20 := take(other, 30*day), take(other, 20*day) // another database: its own keep-last

	// Orphans: an old dump without manifest, a fresh one (an upload in
	// progress), and an unrelated old file that is not ours.
	old := now.Add(-30 * day)
	orphanOld := filepath.Join(store.Root, "app", old.Format("20060102T150405.000Z")+".dump")
	orphanNew := filepath.Join(store.Root, "app", now.Format("20060102T150405.000Z")+".dump")
	unrelated := filepath.Join(store.Root, "README.txt")
	for _, p := range []string{orphanOld, orphanNew, unrelated} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{orphanOld, unrelated} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}

	res, err := backup.Prune(ctx, store, "", now, 14*day, 3)
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	slices.Sort(res.Deleted)
	if want := []string{a40, a20}; !slices.Equal(res.Deleted, want) {
		t.Errorf("deleted %v, want %v (older than 14 days and not among the newest 3)", res.Deleted, want)
	}
	cat, err := backup.ReadCatalog(ctx, store, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, b := range cat.Backups {
		kept = append(kept, b.Key)
	}
	slices.Sort(kept)
	want := []string{a1, a10, a8, o20, o30}
	slices.Sort(want)
	if !slices.Equal(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
	for p, wantExists := range map[string]bool{orphanOld: false, orphanNew: true, unrelated: true} {
		if _, err := os.Stat(p); (err == nil) != wantExists {
			t.Errorf("%s exists=%v, want %v", p, err == nil, wantExists)
		}
	}

	// With keep-last 1 and everything expired, the newest survives alone.
	if _, err := backup.Prune(ctx, store, "", now.Add(365*day), 14*day, 1); err != nil {
		t.Fatal(err)
	}
	cat, _ = backup.ReadCatalog(ctx, store, "", "app")
	if len(cat.Backups) != 1 || cat.Backups[0].Key != a1 {
		t.Errorf("after pruning everything with keep-last 1: %+v, want only %s", cat.Backups, a1)
	}
}

// TestStoreContract checks what Backup and Restore rely on, for each store:
// a Put whose reader fails publishes nothing, a missing key is ErrNotFound,
// List filters by prefix, Delete of a missing key is not an error.
func TestStoreContract(t *testing.T) {
	for name, newStore := range destinations(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store, _ := newStore(t)
			boom := errors.New("reader failed")
			big := io.MultiReader(strings.NewReader(strings.Repeat("x", 6<<20)), iotest.ErrReader(boom))
			if _, err := store.Put(ctx, "a/failed.dump", big); !errors.Is(err, boom) {
				t.Errorf("Put with a failing reader: err = %v, want it to wrap the reader's error", err)
			}
			if n, err := store.Put(ctx, "a/one.dump", strings.NewReader("hello")); err != nil || n != 5 {
				t.Fatalf("Put = %d, %v", n, err)
			}
			if _, err := store.Put(ctx, "b/two.dump", strings.NewReader("")); err != nil {
				t.Fatalf("Put empty: %v", err)
			}
			objs, err := store.List(ctx, "a/")
			if err != nil || len(objs) != 1 || objs[0].Key != "a/one.dump" || objs[0].Size != 5 {
				t.Errorf("List(a/) = %+v, %v; want only a/one.dump (5 bytes)", objs, err)
			}
			rc, err := store.Get(ctx, "a/one.dump")
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(rc)
			_ = rc.Close()
			if string(data) != "hello" {
				t.Errorf("Get = %q", data)
			}
			if _, err := store.Get(ctx, "a/failed.dump"); !errors.Is(err, backup.ErrNotFound) {
				t.Errorf("Get of a failed Put: err = %v, want ErrNotFound", err)
			}
			if err := store.Delete(ctx, "a/one.dump"); err != nil {
				t.Fatal(err)
			}
			if err := store.Delete(ctx, "a/one.dump"); err != nil {
				t.Errorf("Delete of a missing key: %v", err)
			}
			if objs, _ := store.List(ctx, ""); len(objs) != 1 {
				t.Errorf("List after delete = %+v, want only b/two.dump", objs)
			}
		})
	}
}
