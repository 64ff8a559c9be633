// Package s3test runs a private S3-compatible server for a test: the Versity
// S3 gateway (github.com/versity/versitygw, a real server built from the Go
// module proxy) with its posix backend in a temporary directory, on a free
// loopback port, with its own random access and secret keys.
//
// The binary is found through $VERSITYGW, else `versitygw` on PATH. Build it
// with:
//
//	GOBIN=$PWD/bin go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/helloagents/infra/backend/testkit"
)

// Version is the versitygw release the tests are written against.
const Version = "v1.8.0"

// Server is one running gateway.
type Server struct {
	Endpoint  string // http://127.0.0.1:port
	Addr      string // 127.0.0.1:port
	AccessKey string
	SecretKey string
	Region    string
	Dir       string // the posix backend's root: one directory per bucket
}

// Binary returns the gateway binary, or stops the test: a failure under CI
// (where .ci/run builds it), a skip elsewhere.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	msg := "versitygw not found (set VERSITYGW or put it on PATH: GOBIN=$PWD/bin go install github.com/versity/versitygw/cmd/versitygw@" + Version + ")"
	testkit.Missing(t, msg)
	return ""
}

// Start runs a gateway until the test ends and waits until it serves requests.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	s := &Server{
		AccessKey: "AK" + randomHex(t, 9),
		SecretKey: "SK" + randomHex(t, 18),
		Region:    "us-east-1",
		Dir:       t.TempDir(),
	}
	s.Addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.Endpoint = "http://" + s.Addr
	var logs bytes.Buffer
	// Stopped by SIGTERM in the cleanup below, not by a context.
	cmd := exec.CommandContext(context.Background(), bin, "--port", s.Addr, "--quiet", "--region", s.Region, "posix", s.Dir)
	// Keys through the environment, not argv.
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("s3test: start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { terminate(cmd, exited) })
	waitReady(t, s.Client(t), exited, &logs, "versitygw")
	return s
}

// terminate stops a gateway with SIGTERM, or SIGKILL after 10 s.
func terminate(cmd *exec.Cmd, exited <-chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited: //nolint:errcheck // the exit status of a process we stopped tells nothing
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited //nolint:errcheck // the exit status of a process we stopped tells nothing
	}
}

// waitReady polls the gateway named name until it lists buckets, and stops
// the test when it exits or is not ready within 30 s.
func waitReady(t testing.TB, client *minio.Client, exited <-chan error, logs *bytes.Buffer, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := client.ListBuckets(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("s3test: versitygw exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("s3test: %s not ready after 30s: %v\n%s", name, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Client returns a minio client with the server's root credentials.
func (s *Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(s.Addr, &minio.Options{
		Creds:  credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region: s.Region,
	})
	if err != nil {
		t.Fatalf("s3test: client: %v", err)
	}
	return c
}

// CreateBucket creates a bucket and returns its name.
func (s *Server) CreateBucket(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Client(t).MakeBucket(ctx, name, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", name, err)
	}
	return name
}

// ObjectPath is where the posix backend keeps an object's bytes, for tests
// that damage objects behind the server's back.
func (s *Server) ObjectPath(bucket, key string) string {
	return filepath.Join(s.Dir, bucket, filepath.FromSlash(key))
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("s3test: random: %v", err)
	}
	return hex.EncodeToString(b)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("s3test: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
