// Package filestore is a backup.Store in a local directory (a mounted volume
// in dev). Writes go to a hidden temporary file that is synced and renamed
// into place, so a key exists only with its complete content.
package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/helloagents/infra/backend/backup"
)

// Store keeps objects as files under Root.
type Store struct {
	Root string
}

// New returns a Store rooted at dir, creating it if needed.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("backup directory %s: %w", dir, err)
	}
	return &Store{Root: dir}, nil
}

func (s *Store) path(key string) (string, error) {
	clean := path.Clean("/" + key)
	if key == "" || clean != "/"+key || strings.HasSuffix(key, "/") {
		return "", fmt.Errorf("invalid object key %q", key)
	}
	return filepath.Join(s.Root, filepath.FromSlash(key)), nil
}

// Put writes r to a temporary file beside the target, syncs it, renames it
// into place and syncs the directory.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	p, err := s.path(key)
	if err != nil {
		return 0, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(p)+".partial-*")
	if err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, ctxReader{ctx, r})
	if err != nil {
		return n, fmt.Errorf("put %s: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		return n, fmt.Errorf("put %s: sync: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return n, fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return n, fmt.Errorf("put %s: %w", key, err)
	}
	ok = true
	if err := syncDir(dir); err != nil {
		return n, fmt.Errorf("put %s: sync directory: %w", key, err)
	}
	return n, nil
}

// Get opens the file of key.
func (s *Store) Get(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("get %s: %w", key, backup.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return f, nil
}

// List walks the files whose key starts with prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]backup.Object, error) {
	var out []backup.Object
	err := filepath.WalkDir(s.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		o, ok, err := s.listed(p, d, prefix)
		if ok {
			out = append(out, o)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.Root, err)
	}
	return out, nil
}

// listed returns the object at p when it is a regular file whose key has
// prefix. For a directory that cannot hold such a key it returns fs.SkipDir,
// so the walk does not descend into it.
func (s *Store) listed(p string, d fs.DirEntry, prefix string) (backup.Object, bool, error) {
	rel, err := filepath.Rel(s.Root, p)
	if err != nil {
		return backup.Object{}, false, err
	}
	key := filepath.ToSlash(rel)
	if d.IsDir() {
		if rel != "." && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
			return backup.Object{}, false, fs.SkipDir
		}
		return backup.Object{}, false, nil
	}
	if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
		return backup.Object{}, false, nil
	}
	info, err := d.Info()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return backup.Object{}, false, nil // removed while listing
		}
		return backup.Object{}, false, err
	}
	return backup.Object{Key: key, Size: info.Size(), Modified: info.ModTime()}, true, nil
}

// Delete removes the file of key.
func (s *Store) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxReader stops a copy when the context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
