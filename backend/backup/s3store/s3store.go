// Package s3store is a backup.Store in an S3-compatible bucket (Cloudflare R2
// in staging and production), through minio-go. Uploads are streaming
// multipart uploads of unknown length: memory is one part, and an upload that
// fails or is killed is never completed, so no object appears.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/helloagents/infra/backend/backup"
)

// Config locates the bucket and holds the credentials.
type Config struct {
	Endpoint        string // http(s)://host[:port]
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	Bucket          string
	PartSize        uint64 // bytes per multipart part, at least 5 MiB
	MaxRetries      int    // per request; 0 means 3
}

// Store is a bucket.
type Store struct {
	client   *minio.Client
	bucket   string
	where    string // endpoint and bucket, for messages
	partSize uint64
}

// New returns a Store for cfg. It does not contact the server.
func New(cfg Config) (*Store, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || u.Host == "" {
		return nil, errors.New("s3 endpoint: want http(s)://host[:port]")
	}
	retries := cfg.MaxRetries
	if retries == 0 {
		retries = 3
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 2 * time.Minute
	client, err := minio.New(u.Host, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		Secure:     u.Scheme == "https",
		Region:     cfg.Region,
		Transport:  tr,
		MaxRetries: retries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", u.Host, err)
	}
	part := cfg.PartSize
	if part < 5<<20 {
		part = 16 << 20
	}
	return &Store{client: client, bucket: cfg.Bucket, where: u.Host + "/" + cfg.Bucket, partSize: part}, nil
}

// Put streams r as a multipart upload of unknown size. minio-go aborts the
// upload when r or a part fails; an upload abandoned by a killed process stays
// invisible (incomplete uploads are not objects) until the bucket's lifecycle
// rule removes it.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	// A reader of known length (the manifest) is sent in one request; only a
	// stream of unknown length needs the part buffer.
	size := int64(-1)
	if l, ok := r.(interface{ Len() int }); ok {
		size = int64(l.Len())
	}
	info, err := s.client.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{
		PartSize:    s.partSize,
		ContentType: "application/octet-stream",
	})
	if err != nil {
		return 0, s.wrap("upload", key, err)
	}
	return info.Size, nil
}

// Get opens key, failing at once (not at the first read) when it is missing.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.wrap("get", key, err)
	}
	if _, err := obj.Stat(); err != nil {
		_ = obj.Close()
		return nil, s.wrap("get", key, err)
	}
	return obj, nil
}

// List returns the objects under prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]backup.Object, error) {
	var out []backup.Object
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, s.wrap("list", prefix, o.Err)
		}
		out = append(out, backup.Object{Key: o.Key, Size: o.Size, Modified: o.LastModified})
	}
	return out, nil
}

// Delete removes key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.wrap("delete", key, err)
	}
	return nil
}

// deniedCodes are the S3 error codes of bad credentials. XAdminUserNotFound
// is the Versity gateway's answer (with status 404) for an unknown access key.
var deniedCodes = map[string]bool{
	"InvalidAccessKeyId": true, "SignatureDoesNotMatch": true, "AccessDenied": true, "XAdminUserNotFound": true,
}

func (s *Store) wrap(op, key string, err error) error {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == minio.NoSuchKey:
			return fmt.Errorf("%s %s at %s: %w", op, key, s.where, backup.ErrNotFound)
		case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized || deniedCodes[resp.Code]:
			return fmt.Errorf("%s %s at %s: access denied (%s %s): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket's permissions",
				op, key, s.where, resp.Code, resp.Message)
		}
	}
	return fmt.Errorf("%s %s at %s: %w", op, key, s.where, err)
}
