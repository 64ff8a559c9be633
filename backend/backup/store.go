// Package backup takes PostgreSQL backups that restore: pg_dump in custom
// format streamed to a destination with its size and SHA-256 recorded beside
// it, a catalogue that trusts only dumps whose manifest matches, checksum
// verification before pg_restore touches a target, and retention.
//
// Destinations (a directory, an S3 bucket) implement Store; the job never
// holds a whole dump in memory or on local disk while backing up.
package backup

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned (wrapped) by Store.Get for a missing key.
var ErrNotFound = errors.New("object not found")

// Store is a destination for backup objects. Keys are slash-separated paths
// relative to the destination's root.
type Store interface {
	// Put stores everything r yields under key, streaming. It is atomic: on
	// any error, including one returned by r, nothing appears under key.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Get opens key for reading; a missing key gives an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns every object whose key starts with prefix.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Object is one stored object.
type Object struct {
	Key      string
	Size     int64
	Modified time.Time
}
