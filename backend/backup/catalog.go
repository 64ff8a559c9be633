package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// Object name suffixes. A dump is trusted only when its manifest, written
// after the dump upload completed, exists and records the dump's size.
const (
	DumpSuffix     = ".dump"
	ManifestSuffix = ".json"
	timeLayout     = "20060102T150405.000Z"
	maxManifest    = 64 << 10
)

// Manifest is stored as <dump key>.json beside each dump, last.
type Manifest struct {
	Version  int       `json:"version"`
	Key      string    `json:"key"`
	Database string    `json:"database"`
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256"`
	Created  time.Time `json:"created"`
	PGDump   string    `json:"pg_dump,omitempty"`
}

// DumpKey returns the key of a dump of database db taken at t:
// <prefix>/<db>/<UTC timestamp>.dump.
func DumpKey(prefix, db string, t time.Time) string {
	return path.Join(prefix, db, t.UTC().Format(timeLayout)+DumpSuffix)
}

func dbPrefix(prefix, db string) string {
	if db == "" {
		if prefix == "" {
			return ""
		}
		return prefix + "/"
	}
	return path.Join(prefix, db) + "/"
}

// Catalog is what a destination holds under a prefix.
type Catalog struct {
	// Good backups, newest first: each has a manifest matching its dump.
	Backups []Manifest
	// Orphans are objects no good backup accounts for: dumps of failed or
	// interrupted uploads, manifests without their dump, temporary files.
	Orphans []Object
}

// ReadCatalog lists the destination under prefix (and database db, when not
// empty) and sorts the objects into good backups and orphans. Reading a
// manifest costs one GET per backup.
func ReadCatalog(ctx context.Context, s Store, prefix, db string) (Catalog, error) {
	objs, err := s.List(ctx, dbPrefix(prefix, db))
	if err != nil {
		return Catalog{}, err
	}
	byKey := make(map[string]Object, len(objs))
	for _, o := range objs {
		byKey[o.Key] = o
	}
	var cat Catalog
	used := map[string]bool{}
	for _, o := range objs {
		m, ok, err := confirmedBackup(ctx, s, o, byKey)
		if err != nil {
			return Catalog{}, err
		}
		if ok {
			used[o.Key], used[m.Key] = true, true
			cat.Backups = append(cat.Backups, m)
		}
	}
	for _, o := range objs {
		if !used[o.Key] {
			cat.Orphans = append(cat.Orphans, o)
		}
	}
	sortNewestFirst(cat.Backups)
	return cat, nil
}

// confirmedBackup returns the manifest when o is a manifest that matches its
// dump in byKey. An unreadable manifest only means the dump is not trusted;
// the error is returned when ctx ended, as the listing is then incomplete.
func confirmedBackup(ctx context.Context, s Store, o Object, byKey map[string]Object) (Manifest, bool, error) {
	if !strings.HasSuffix(o.Key, DumpSuffix+ManifestSuffix) {
		return Manifest{}, false, nil
	}
	dumpKey := strings.TrimSuffix(o.Key, ManifestSuffix)
	dump, ok := byKey[dumpKey]
	if !ok {
		return Manifest{}, false, nil
	}
	m, err := readManifest(ctx, s, o.Key)
	if err != nil {
		if ctx.Err() != nil {
			return Manifest{}, false, err
		}
		return Manifest{}, false, nil
	}
	if m.Key != dumpKey || m.Size != dump.Size || len(m.SHA256) != 64 {
		return Manifest{}, false, nil
	}
	return m, true, nil
}

// sortNewestFirst orders backups by creation time, newest first; the key
// breaks ties so the order is the same on every listing.
func sortNewestFirst(backups []Manifest) {
	sort.Slice(backups, func(i, j int) bool {
		if !backups[i].Created.Equal(backups[j].Created) {
			return backups[i].Created.After(backups[j].Created)
		}
		return backups[i].Key > backups[j].Key
	})
}

// ReadManifest returns the manifest of the dump at key. A missing manifest is
// reported whether or not the dump exists, since an unconfirmed dump must not
// be restored.
func ReadManifest(ctx context.Context, s Store, key string) (Manifest, error) {
	if !strings.HasSuffix(key, DumpSuffix) {
		return Manifest{}, fmt.Errorf("backup key %q: want a key ending in %s (see pgbackup list)", key, DumpSuffix)
	}
	m, err := readManifest(ctx, s, key+ManifestSuffix)
	if errors.Is(err, ErrNotFound) {
		if rc, derr := s.Get(ctx, key); derr == nil {
			_ = rc.Close()
			return Manifest{}, fmt.Errorf("backup %q has no manifest: its upload did not complete; refusing to restore it", key)
		}
		return Manifest{}, fmt.Errorf("backup %q not found at the destination (see pgbackup list): %w", key, ErrNotFound)
	}
	if err != nil {
		return Manifest{}, err
	}
	if m.Key != key {
		return Manifest{}, fmt.Errorf("manifest of %q names another key %q; refusing to restore", key, m.Key)
	}
	return m, nil
}

func readManifest(ctx context.Context, s Store, key string) (Manifest, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return Manifest{}, err
	}
	defer rc.Close()
	var m Manifest
	data, err := io.ReadAll(io.LimitReader(rc, maxManifest))
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest %s: %w", key, err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("manifest %s is not valid JSON: %w", key, err)
	}
	return m, nil
}
