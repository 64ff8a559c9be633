package pitr

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helloagents/infra/backend/imagetest"
	"github.com/helloagents/infra/backend/internal/archivetest"
	"github.com/helloagents/infra/backend/internal/s3test"
	"github.com/helloagents/infra/backend/pgtest"
)

// TestPITRImage builds backend/postgres.Dockerfile and runs it as the
// Database component does: the image's non-root user, read-only root, every
// capability dropped, named volumes for data and spool, host networking.
// The server archives WAL through pgBackRest to versitygw over TLS (region
// auto, encrypted repository); the stanza is created and checked and
// `pitrjob backup full` takes a full backup inside the container and records
// it for /health; then pgrecover, run from the same image
// on a fresh volume, recovers the latest point, and a server on that volume
// has every committed row. No log shows a secret.
//
// No registry is reachable: the Debian base (debootstrap) and the Go builder
// (this machine's GOROOT) are the shared, once-per-machine bases of
// imagetest. Runs only with IMAGE_TESTS=1 (needs docker,
// debootstrap, root, the Debian mirror).
func TestPITRImage(t *testing.T) {
	imagetest.RequireHeavy(t, "/usr/bin/docker", "debootstrap")
	s3 := s3test.StartTLS(t, "auto")
	bucket := s3.CreateBucket(t, "pitr-image")
	stamp := time.Now().UnixNano()
	dk := imagetest.RequireDocker(t)
	base, builder := dk.DebianBase(t), dk.GoBuilder(t)
	image := fmt.Sprintf("helloagents-test/pitr-postgres:%d", stamp)
	name := fmt.Sprintf("helloagents-test-pitr-%d", stamp)
	vols := []string{name + "-data", name + "-spool", name + "-restored"}
	t.Cleanup(func() {
		for _, args := range [][]string{{"rm", "-f", name, name + "-restored"}, append([]string{"volume", "rm", "-f"}, vols...), {"rmi", "-f", image}} {
			_ = dockerCmd(context.Background(), args...).Run()
		}
	})
	goproxy := strings.TrimSpace(run(t, time.Minute, "go", "env", "GOPROXY"))
	buildContext, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	docker(t, 30*time.Minute, "build", "--network", "host", "-f", filepath.Join(buildContext, "postgres.Dockerfile"),
		"--build-arg", "GO_IMAGE="+builder, "--build-arg", "RUNTIME_IMAGE="+base, "--build-arg", "GOPROXY="+goproxy,
		"-t", image, buildContext)
	if user := docker(t, time.Minute, "image", "inspect", "-f", "{{.Config.User}} {{len .Config.Volumes}}", image); user != "999:999 0" {
		t.Errorf("image USER and VOLUME count = %q, want \"999:999 0\"", user)
	}

	password := "pw-" + archivetest.RandomHex(t, 12)
	cipher := "cipher-" + archivetest.RandomHex(t, 16)
	port := pgtest.FreePort(t)
	cfg := Config{Stanza: "main", DataDir: "/var/lib/postgresql/data/pgdata", SocketDir: "/var/run/postgresql",
		User: "helloagents", SpoolPath: "/var/spool/pgbackrest", Port: port,
		Repo: Repo{Type: RepoS3, Path: "/test/image", Endpoint: fmt.Sprintf("%s:%d", s3.Host, s3.Port), Bucket: bucket,
			Region: "auto", CAFile: "/etc/pitr-test/ca.pem", AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey,
			CipherPass: cipher, RetentionFull: 2}}
	hardened := []string{"--network", "host", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true",
		"--tmpfs", "/tmp:rw,noexec,nosuid,size=64m", "--tmpfs", "/var/run/postgresql:rw,noexec,nosuid,size=16m,uid=999,gid=999",
		"-v", s3.CAFile + ":/etc/pitr-test/ca.pem:ro", "-v", vols[1] + ":/var/spool/pgbackrest"}
	envArgs := []string{"-e", "POSTGRES_USER=helloagents", "-e", "POSTGRES_DB=helloagents", "-e", "POSTGRES_LISTEN=127.0.0.1",
		"-e", "ARCHIVE_TIMEOUT=10s"}
	for _, kv := range append(cfg.Env(), cfg.SecretEnv()...) {
		envArgs = append(envArgs, "-e", kv)
	}
	args := append(append(append([]string{"run", "-d", "--name", name}, hardened...), envArgs...),
		"-e", "POSTGRES_PASSWORD="+password, "-v", vols[0]+":/var/lib/postgresql/data", image, "-c", fmt.Sprintf("port=%d", port))
	docker(t, time.Minute, args...)
	url := fmt.Sprintf("postgres://helloagents:%s@127.0.0.1:%d/helloagents?sslmode=disable", password, port)
	waitConnect(t, url, name)
	if err := WakeArchiver(context.Background(), url); err != nil {
		t.Fatal(err)
	}

	docker(t, 3*time.Minute, "exec", name, "pgbackrest", "--stanza=main", "stanza-create")
	docker(t, 3*time.Minute, "exec", name, "pgbackrest", "--stanza=main", "check")
	// The scheduled job's one-shot form, as the backup container runs it.
	jobOut := docker(t, 5*time.Minute, "exec", "-e", "DATABASE_URL="+url, name, "pitrjob", "backup", "full")
	if !strings.Contains(jobOut, `"status":"ok"`) {
		t.Errorf("pitrjob backup full:\n%s", jobOut)
	}
	var recorded int
	if err := archivetest.Connect(t, url).QueryRow(context.Background(), "SELECT count(*) FROM backup_status.last_backup WHERE kind = 'full'").Scan(&recorded); err != nil || recorded != 1 {
		t.Errorf("recorded full backups = %d (%v), want 1", recorded, err)
	}
	top := docker(t, time.Minute, "top", name, "-o", "pid,uid,args")
	t.Logf("processes:\n%s", top)
	if !strings.Contains(top, "archiver") {
		t.Error("no archiver process")
	}
	for _, line := range strings.Split(top, "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 && f[1] != "999" {
			t.Errorf("process not run by uid 999: %s", line)
		}
	}
	c := archivetest.Connect(t, url)
	ctx := context.Background()
	if _, err := c.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g"); err != nil {
		t.Fatal(err)
	}
	archivetest.SwitchAndWait(t, url, 2*time.Minute)

	restoredArgs := append(append(append([]string{"run", "--rm", "--entrypoint", "pgrecover"}, hardened...), envArgs...),
		"-v", vols[2]+":/var/lib/postgresql/restore", image, "--data-dir", "/var/lib/postgresql/restore/pgdata", "--latest")
	out := docker(t, 10*time.Minute, restoredArgs...)
	t.Logf("pgrecover in the image:\n%s", out)
	if !strings.Contains(out, "pgrecover: done") {
		t.Fatalf("pgrecover did not finish:\n%s", out)
	}

	port2 := pgtest.FreePort(t)
	restored := append([]string{"run", "-d", "--name", name + "-restored"}, hardened[:len(hardened)-2]...)
	restored = append(restored, "-e", "POSTGRES_LISTEN=127.0.0.1", "-e", "PGDATA=/var/lib/postgresql/restore/pgdata",
		"-v", vols[2]+":/var/lib/postgresql/restore", image, "-c", fmt.Sprintf("port=%d", port2))
	docker(t, time.Minute, restored...)
	url2 := fmt.Sprintf("postgres://helloagents:%s@127.0.0.1:%d/helloagents?sslmode=disable", password, port2)
	waitConnect(t, url2, name+"-restored")
	var n int
	if err := archivetest.Connect(t, url2).QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 5000 {
		t.Errorf("recovered rows = %d (%v), want 5000", n, err)
	}

	logs := docker(t, time.Minute, "logs", name) + docker(t, time.Minute, "logs", name+"-restored") + out + jobOut
	for _, secret := range []string{password, cipher, s3.SecretKey, s3.AccessKey} {
		if strings.Contains(logs, secret) {
			t.Error("a container log shows a secret")
		}
	}
}

func waitConnect(t *testing.T, url, container string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := pgx.Connect(ctx, url)
		cancel()
		if err == nil {
			_ = c.Close(context.Background())
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s not accepting connections: %v\n%s", container, err, docker(t, time.Minute, "logs", container))
		}
	}
}

// makeBases builds Debian bookworm by debootstrap and a Go builder from it.
func dockerCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/usr/bin/docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=1")
	return cmd
}

func docker(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := dockerCmd(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker %s: %v\n%s%s", args[0], err, stdout.String(), stderr.String())
	}
	return strings.TrimSpace(stdout.String() + stderr.String())
}

func run(t *testing.T, timeout time.Duration, prog string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, prog, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", prog, err, out)
	}
	return string(out)
}
