package standby_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helloagents/infra/backend/imagetest"
	"github.com/helloagents/infra/backend/internal/archivetest"
	"github.com/helloagents/infra/backend/internal/s3test"
	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/pitr"
	"github.com/helloagents/infra/backend/standby"
)

// imageRegion is one region's Postgres container of the real image.
type imageRegion struct {
	name, data, spool string
	port              int
	url               string
}

// TestStandbyImage runs the contract with the infrastructure side in the
// real backend/postgres.Dockerfile image, hardened as the Database component
// runs it: a primary archiving to versitygw over TLS; a PG_ROLE=standby
// container on fresh volumes restores itself from the shared repository and
// replays; `docker exec pgrole status --json` / `fence` / `promote` do what
// infra/failover needs; the fenced old primary refuses to start as a primary
// (exit 3) and, re-created with PG_ROLE=standby on its volumes, is re-seeded
// onto the new timeline and replays the new primary's writes.
// Runs only with IMAGE_TESTS=1.
func TestStandbyImage(t *testing.T) {
	imagetest.RequireHeavy(t, "/usr/bin/docker", "debootstrap")
	dk := imagetest.RequireDocker(t)
	s3 := s3test.StartTLS(t, "auto")
	image := imagetest.Tag("standby", "postgres")
	buildContext, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dk.Build(t, image, buildContext, "postgres.Dockerfile", map[string]string{
		"GO_IMAGE": dk.GoBuilder(t), "RUNTIME_IMAGE": dk.DebianBase(t), "GOPROXY": imagetest.GoProxy(t)})
	password := "pw-" + archivetest.RandomHex(t, 12)
	cfg := pitr.Config{Stanza: "main", DataDir: "/var/lib/postgresql/data/pgdata", SocketDir: "/var/run/postgresql",
		User: "helloagents", SpoolPath: "/var/spool/pgbackrest",
		Repo: pitr.Repo{Type: pitr.RepoS3, Path: "/test/stack", Endpoint: fmt.Sprintf("%s:%d", s3.Host, s3.Port),
			Bucket: s3.CreateBucket(t, "standby-image"), Region: "auto", CAFile: "/etc/standby-test/ca.pem",
			AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey, CipherPass: "c-" + archivetest.RandomHex(t, 16), RetentionFull: 2}}
	region := func(name string) imageRegion {
		r := imageRegion{name: image + "-" + name, port: pgtest.FreePort(t)}
		r.data, r.spool = r.name+"-data", r.name+"-spool"
		r.url = fmt.Sprintf("postgres://helloagents:%s@127.0.0.1:%d/helloagents?sslmode=disable", password, r.port)
		t.Cleanup(func() { dk.Cleanup("rm", "-f", r.name); dk.Cleanup("volume", "rm", "-f", r.data, r.spool) })
		return r
	}
	runRegion := func(r imageRegion, role string, detach bool) (string, error) {
		args := []string{"run", "--name", r.name, "--network", "host", "--read-only", "--cap-drop", "ALL",
			"--security-opt", "no-new-privileges:true", "--tmpfs", "/tmp:rw,noexec,nosuid,size=64m",
			"--tmpfs", "/var/run/postgresql:rw,noexec,nosuid,size=16m,uid=999,gid=999",
			"-v", s3.CAFile + ":/etc/standby-test/ca.pem:ro", "-v", r.spool + ":/var/spool/pgbackrest",
			"-v", r.data + ":/var/lib/postgresql/data", "-e", "PG_ROLE=" + role, "-e", "POSTGRES_PASSWORD=" + password,
			"-e", "POSTGRES_USER=helloagents", "-e", "POSTGRES_DB=helloagents", "-e", "POSTGRES_LISTEN=127.0.0.1",
			"-e", "ARCHIVE_TIMEOUT=10s", "-e", fmt.Sprintf("PGBACKREST_PG1_PORT=%d", r.port)}
		if detach {
			args = append(args, "-d")
		}
		for _, kv := range append(cfg.Env(), cfg.SecretEnv()...) {
			if !strings.HasPrefix(kv, "PGBACKREST_PG1_PORT=") {
				args = append(args, "-e", kv)
			}
		}
		return dk.Try(10*time.Minute, append(args, image, "-c", fmt.Sprintf("port=%d", r.port))...)
	}
	a, b := region("a"), region("b")
	if _, err := runRegion(a, "primary", true); err != nil {
		t.Fatal(err)
	}
	waitUp(t, dk, a)
	if err := pitr.WakeArchiver(context.Background(), a.url); err != nil {
		t.Fatal(err)
	}
	dk.Run(t, 3*time.Minute, "exec", a.name, "pgbackrest", "--stanza=main", "stanza-create")
	dk.Run(t, 5*time.Minute, "exec", "-e", "DATABASE_URL="+a.url, a.name, "pitrjob", "backup", "full")

	if _, err := runRegion(b, "standby", true); err != nil {
		t.Fatal(err)
	}
	waitUp(t, dk, b)
	if st := pgroleStatus(t, dk, b.name); st.Role != standby.Standby || !st.InRecovery {
		t.Fatalf("PG_ROLE=standby container status = %+v, want a standby", st)
	}
	execURL(t, a.url, "CREATE TABLE drill (id int PRIMARY KEY); INSERT INTO drill VALUES (1)")
	waitRow(t, b.url, 1)

	// Planned failover: fence a (its last WAL archived, the container exits 0), promote b.
	t.Logf("pgrole fence:\n%s", dk.Run(t, 5*time.Minute, "exec", a.name, "pgrole", "fence", "--reason", "image test", "--archive-wait", "2m"))
	if code := dk.Run(t, 2*time.Minute, "wait", a.name); code != "0" {
		t.Errorf("fenced primary's container exit code %s, want 0", code)
	}
	out := dk.Run(t, 3*time.Minute, "exec", b.name, "pgrole", "promote", "--max-lag", "5m")
	var st standby.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Role != standby.Primary || st.Timeline != 2 {
		t.Fatalf("pgrole promote printed %q (%v), want a primary on timeline 2", out, err)
	}
	execURL(t, b.url, "INSERT INTO drill VALUES (2)")

	// The old primary comes back as a primary: refused.
	dk.Run(t, time.Minute, "start", a.name)
	if code := dk.Run(t, 3*time.Minute, "wait", a.name); code != "3" {
		t.Errorf("fenced primary restarted with PG_ROLE=primary: exit %s, want 3\n%s", code, dk.Run(t, time.Minute, "logs", a.name))
	}
	// Re-created as a standby on its volumes: re-seeded onto timeline 2.
	dk.Run(t, time.Minute, "rm", a.name)
	if _, err := runRegion(a, "standby", true); err != nil {
		t.Fatal(err)
	}
	waitUp(t, dk, a)
	waitRow(t, a.url, 2)
	if st := pgroleStatus(t, dk, a.name); st.Role != standby.Standby || st.Fenced {
		t.Errorf("re-seeded old primary status = %+v, want an unfenced standby", st)
	}
	logs := dk.Run(t, time.Minute, "logs", a.name) + dk.Run(t, time.Minute, "logs", b.name)
	for _, secret := range []string{password, cfg.Repo.CipherPass, s3.SecretKey} {
		if strings.Contains(logs, secret) {
			t.Error("a container log shows a secret")
		}
	}
}

func pgroleStatus(t *testing.T, dk imagetest.Docker, container string) standby.Status {
	t.Helper()
	out := dk.Run(t, time.Minute, "exec", container, "pgrole", "status", "--json")
	var st standby.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("pgrole status --json: %v\n%s", err, out)
	}
	return st
}

// waitUp waits (bounded) until the region's server accepts connections.
func waitUp(t *testing.T, dk imagetest.Docker, r imageRegion) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := pgx.Connect(ctx, r.url)
		cancel()
		if err == nil {
			_ = c.Close(context.Background())
			return
		}
		if time.Now().After(deadline) {
			logs, _ := dk.Try(time.Minute, "logs", r.name)
			t.Fatalf("container %s not accepting connections: %v\n%s", r.name, err, logs)
		}
	}
}

func execURL(t *testing.T, url, sql string) {
	t.Helper()
	if _, err := archivetest.Connect(t, url).Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// waitRow waits (bounded by replayBound) until url's drill table has row id.
func waitRow(t *testing.T, url string, id int) {
	t.Helper()
	c := archivetest.Connect(t, url)
	for deadline := time.Now().Add(replayBound); ; time.Sleep(200 * time.Millisecond) {
		var found bool
		err := c.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM drill WHERE id = $1)", id).Scan(&found)
		if err == nil && found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("row %d not replayed within %s (last error %v)", id, replayBound, err)
		}
	}
}
