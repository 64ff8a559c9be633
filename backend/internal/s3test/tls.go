package s3test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TLSServer is a gateway serving HTTPS with a certificate from a CA made for
// the test, which clients trust through CAFile. It can be stopped and
// started again on the same port and data, to simulate an outage.
type TLSServer struct {
	Server
	// Host is the name the certificate is valid for ("localhost").
	Host string
	Port int
	// Files readable by any user (pgBackRest runs as postgres): the CA
	// certificate, and the server's certificate and key.
	CAFile, CertFile, KeyFile string

	bin    string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error
	logs   *bytes.Buffer
	pool   *x509.CertPool
}

// StartTLS runs a gateway over TLS that checks SigV4 against region (R2's
// clients say "auto"), until the test ends.
func StartTLS(t testing.TB, region string) *TLSServer {
	t.Helper()
	s := &TLSServer{bin: Binary(t), Host: "localhost"}
	s.AccessKey = "AK" + randomHex(t, 9)
	s.SecretKey = "SK" + randomHex(t, 18)
	s.Region = region
	s.Dir = t.TempDir()
	s.Port = freePort(t)
	s.Addr = fmt.Sprintf("127.0.0.1:%d", s.Port)
	s.Endpoint = fmt.Sprintf("https://%s:%d", s.Host, s.Port)
	dir, err := os.MkdirTemp("", "s3test-tls-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.pool = writeCerts(t, dir, s.Host)
	s.CAFile, s.CertFile, s.KeyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	t.Cleanup(func() { s.stop() })
	s.Start(t)
	return s
}

// Start starts the (stopped) gateway and waits until it serves requests.
func (s *TLSServer) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	var logs bytes.Buffer
	cmd := exec.CommandContext(context.Background(), s.bin, "--port", s.Addr, "--quiet", "--region", s.Region,
		"--cert", s.CertFile, "--key", s.KeyFile, "posix", s.Dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		t.Fatalf("s3test: start %s: %v", s.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s.cmd, s.exited, s.logs = cmd, exited, &logs
	s.mu.Unlock()

	waitReady(t, s.Client(t), exited, &logs, "versitygw (TLS)")
}

// Stop stops the gateway (SIGTERM, then SIGKILL after 10 s); the port is
// closed until Start.
func (s *TLSServer) Stop(t testing.TB) {
	t.Helper()
	s.stop()
}

func (s *TLSServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	terminate(s.cmd, s.exited)
	s.cmd = nil
}

// Client returns a minio client over HTTPS that trusts the test CA.
func (s *TLSServer) Client(t testing.TB) *minio.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12}
	// Resolve the certificate's name to the loopback address the server uses.
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, s.Addr)
	}
	c, err := minio.New(fmt.Sprintf("%s:%d", s.Host, s.Port), &minio.Options{
		Creds:     credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region:    s.Region,
		Secure:    true,
		Transport: tr,
	})
	if err != nil {
		t.Fatalf("s3test: client: %v", err)
	}
	return c
}

// CreateBucket creates a bucket and returns its name.
func (s *TLSServer) CreateBucket(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Client(t).MakeBucket(ctx, name, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", name, err)
	}
	return name
}

// writeCerts makes a CA and a server certificate for host and 127.0.0.1,
// writes ca.pem, cert.pem and key.pem into dir, and returns a pool with the CA.
func writeCerts(t testing.TB, dir, host string) *x509.CertPool {
	t.Helper()
	now := time.Now()
	ca, caDER, caKey := newCA(t, now)
	leafDER, keyDER := newLeaf(t, host, ca, caKey, now)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", caDER, 0o644)
	writePEM(t, filepath.Join(dir, "cert.pem"), "CERTIFICATE", leafDER, 0o644)
	writePEM(t, filepath.Join(dir, "key.pem"), "EC PRIVATE KEY", keyDER, 0o600)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

// newCA makes a self-signed CA valid from an hour before now for a day.
func newCA(t testing.TB, now time.Time) (*x509.Certificate, []byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "helloagents test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, der, key
}

// newLeaf makes the server's key and its certificate for host and
// 127.0.0.1, signed by ca; both DER-encoded.
func newLeaf(t testing.TB, host string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, now time.Time) (cert, key []byte) {
	t.Helper()
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{host}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	cert, err = x509.CreateCertificate(rand.Reader, leaf, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err = x509.MarshalECPrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func writePEM(t testing.TB, path, typ string, der []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
}
