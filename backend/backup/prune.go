package backup

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// Expired returns the backups to delete from backups (newest first, one
// database): those created before now-retention, except the newest keepLast,
// which always survive whatever their age.
func Expired(backups []Manifest, now time.Time, retention time.Duration, keepLast int) []Manifest {
	cutoff := now.Add(-retention)
	var out []Manifest
	for i, b := range backups {
		if i < keepLast {
			continue
		}
		if b.Created.Before(cutoff) {
			out = append(out, b)
		}
	}
	return out
}

// PruneResult says what Prune deleted.
type PruneResult struct {
	Deleted []string // keys of deleted backups
	Orphans []string // keys of deleted orphan objects
	Kept    int      // good backups left
}

// Prune deletes expired backups per database, and orphans (objects of failed
// uploads) older than the retention, so an upload in progress is never
// touched. A backup's manifest is deleted before its dump: an interrupted
// prune leaves an orphan, never a backup that looks good but is not.
func Prune(ctx context.Context, s Store, prefix string, now time.Time, retention time.Duration, keepLast int) (PruneResult, error) {
	if keepLast < 1 {
		return PruneResult{}, fmt.Errorf("keep-last %d: must be at least 1", keepLast)
	}
	cat, err := ReadCatalog(ctx, s, prefix, "")
	if err != nil {
		return PruneResult{}, fmt.Errorf("list backups: %w", err)
	}
	byDB := map[string][]Manifest{}
	for _, b := range cat.Backups { // newest first, kept per database
		byDB[b.Database] = append(byDB[b.Database], b)
	}
	var res PruneResult
	var errs []error
	res.Kept = len(cat.Backups)
	for _, backups := range byDB {
		for _, b := range Expired(backups, now, retention, keepLast) {
			if err := s.Delete(ctx, b.Key+ManifestSuffix); err != nil {
				errs = append(errs, fmt.Errorf("delete %s: %w", b.Key+ManifestSuffix, err))
				continue
			}
			if err := s.Delete(ctx, b.Key); err != nil {
				errs = append(errs, fmt.Errorf("delete %s: %w", b.Key, err))
			}
			res.Deleted = append(res.Deleted, b.Key)
			res.Kept--
		}
	}
	cutoff := now.Add(-retention)
	for _, o := range cat.Orphans {
		if o.Modified.Before(cutoff) && isBackupObject(o.Key) {
			if err := s.Delete(ctx, o.Key); err != nil {
				errs = append(errs, fmt.Errorf("delete %s: %w", o.Key, err))
				continue
			}
			res.Orphans = append(res.Orphans, o.Key)
		}
	}
	return res, errors.Join(errs...)
}

// isBackupObject reports whether key is named like something this package
// writes (a dump, a manifest, or a file store's temporary file), so prune
// never deletes unrelated objects that share the destination.
func isBackupObject(key string) bool {
	base := path.Base(key)
	if strings.HasPrefix(base, ".") && strings.Contains(base, DumpSuffix) && strings.Contains(base, ".partial-") {
		return true
	}
	stamp := strings.TrimSuffix(strings.TrimSuffix(base, ManifestSuffix), DumpSuffix)
	if stamp == base || !strings.HasSuffix(strings.TrimSuffix(base, ManifestSuffix), DumpSuffix) {
		return false
	}
	_, err := time.Parse(timeLayout, stamp)
	return err == nil
}
