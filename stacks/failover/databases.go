package failover

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/postgres"
	"github.com/helloagents/infra/backend/replication"
)

// Status is what `pgrole status --json` reports inside a region's Postgres
// container: backend/replication's type, the one the backend writes.
type Status = replication.Status

// Roles pgrole reports.
const (
	RolePrimary = replication.Primary
	RoleStandby = replication.Standby
)

// Region is one region's database as the failover reaches it.
type Region struct {
	Name       string
	DockerHost string
}

// Databases reaches the Postgres of each region. Docker implements it over
// the docker CLI; the tests use a fake.
type Databases interface {
	// Status returns the server's role and replay position. An error means
	// the database cannot be reached (host down, container not running).
	Status(ctx context.Context, r Region) (Status, error)
	// Fence marks the data directory fenced and stops the server, so it
	// never takes a write on the old timeline again; idempotent.
	Fence(ctx context.Context, r Region) error
	// Promote makes the standby a primary on a new timeline. It refuses,
	// with an error wrapping ErrPromoteRefused, a server that is not a
	// standby or is further behind than maxLag (unless acceptDataLoss).
	Promote(ctx context.Context, r Region, maxLag time.Duration, acceptDataLoss bool) (Status, error)
}

// ErrPromoteRefused is pgrole promote's exit status 3: not a standby, or
// too far behind.
var ErrPromoteRefused = errors.New("pgrole promote refused")

// Runner runs the docker CLI with args and returns its standard output and
// exit status; err is set only when docker could not be run at all.
type Runner func(ctx context.Context, args []string) (stdout, stderr []byte, code int, err error)

// Docker implements Databases with `docker --host <dockerHost> exec`: the
// Postgres container is the running one labelled with the stack, the region
// and the role postgres (backend/labels; components.Identity stamps them).
// An ssh:// host uses the machine's ssh client and ~/.ssh/config (the
// stack's sshOpts are the docker provider's, not the CLI's).
type Docker struct {
	// Stack is the value of the helloagents.stack label: the Pulumi stack
	// name without an organization ("production").
	Stack string
	// Run runs docker; nil runs the docker CLI on PATH.
	Run Runner
}

// StackLabel is the helloagents.stack label value of a stack named on the
// command line ("org/production" -> "production"): the program stamps
// ctx.Stack(), which has no organization.
func StackLabel(stack string) string {
	return stack[strings.LastIndex(stack, "/")+1:]
}

func (d Docker) run(ctx context.Context, args ...string) ([]byte, int, error) {
	run := d.Run
	if run == nil {
		run = execDocker
	}
	out, stderr, code, err := run(ctx, args)
	if err != nil {
		return nil, 0, fmt.Errorf("docker %s: %w", strings.Join(args, " "), err)
	}
	if code != 0 && code != 3 {
		return out, code, fmt.Errorf("docker %s: exit status %d: %s", strings.Join(args, " "), code, strings.TrimSpace(string(stderr)))
	}
	return out, code, nil
}

// execDocker is the Runner of the docker CLI on PATH.
func execDocker(ctx context.Context, args []string) ([]byte, []byte, int, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return stdout.Bytes(), stderr.Bytes(), exit.ExitCode(), nil
	}
	return stdout.Bytes(), stderr.Bytes(), 0, err
}

// container finds region r's running Postgres container.
func (d Docker) container(ctx context.Context, r Region) (string, error) {
	out, _, err := d.run(ctx, "--host", r.DockerHost, "ps", "-q",
		"--filter", "label="+labels.Stack+"="+d.Stack,
		"--filter", "label="+labels.Region+"="+r.Name,
		"--filter", "label="+labels.Role+"="+string(labels.RolePostgres))
	if err != nil {
		return "", fmt.Errorf("region %s: %w", r.Name, err)
	}
	ids := strings.Fields(string(out))
	if len(ids) != 1 {
		return "", fmt.Errorf("region %s: %d running Postgres containers labelled %s=%s on %s, want 1",
			r.Name, len(ids), labels.Stack, d.Stack, r.DockerHost)
	}
	return ids[0], nil
}

// pgrole runs pgrole in region r's Postgres container.
func (d Docker) pgrole(ctx context.Context, r Region, args ...string) ([]byte, int, error) {
	id, err := d.container(ctx, r)
	if err != nil {
		return nil, 0, err
	}
	out, code, err := d.run(ctx, append([]string{"--host", r.DockerHost, "exec", id, postgres.PGRole}, args...)...)
	if err != nil {
		return nil, code, fmt.Errorf("region %s: %w", r.Name, err)
	}
	return out, code, nil
}

// Status implements Databases.
func (d Docker) Status(ctx context.Context, r Region) (Status, error) {
	out, code, err := d.pgrole(ctx, r, postgres.PGRoleStatus, "--json")
	if err == nil && code != 0 {
		err = fmt.Errorf("region %s: pgrole status: exit status %d", r.Name, code)
	}
	if err != nil {
		return Status{}, err
	}
	return decodeStatus(r, out)
}

// Fence implements Databases. Inside a container `pgrole fence` returns
// once the stop is signalled (docker exec would die with the container), so
// Fence then waits for the container to exit, and wants exit status 0: a
// clean stop after the last WAL segment was archived.
func (d Docker) Fence(ctx context.Context, r Region) error {
	id, err := d.container(ctx, r)
	if err != nil {
		return err
	}
	_, code, err := d.run(ctx, "--host", r.DockerHost, "exec", id, postgres.PGRole, postgres.PGRoleFence)
	if err == nil && code != 0 {
		err = fmt.Errorf("pgrole fence: exit status %d", code)
	}
	if err != nil {
		return fmt.Errorf("region %s: %w", r.Name, err)
	}
	out, _, err := d.run(ctx, "--host", r.DockerHost, "wait", id)
	if err != nil {
		return fmt.Errorf("region %s: wait for the fenced Postgres container to stop: %w", r.Name, err)
	}
	if status := strings.TrimSpace(string(out)); status != "0" {
		return fmt.Errorf("region %s: the fenced Postgres container %s exited with status %s, want 0", r.Name, id, status)
	}
	return nil
}

// Promote implements Databases.
func (d Docker) Promote(ctx context.Context, r Region, maxLag time.Duration, acceptDataLoss bool) (Status, error) {
	args := []string{postgres.PGRolePromote, "--max-lag", maxLag.String()}
	if acceptDataLoss {
		args = append(args, "--accept-data-loss")
	}
	out, code, err := d.pgrole(ctx, r, args...)
	if err != nil {
		return Status{}, err
	}
	st, decodeErr := decodeStatus(r, out)
	if code == postgres.ExitRefused {
		return st, fmt.Errorf("region %s: %w (role %q, lag %s)", r.Name, ErrPromoteRefused, st.Role, lagText(st))
	}
	return st, decodeErr
}

// decodeStatus reads the status JSON pgrole prints (last on its output).
func decodeStatus(r Region, out []byte) (Status, error) {
	var st Status
	text := strings.TrimSpace(string(out))
	if i := strings.LastIndex(text, "\n{"); i >= 0 {
		text = text[i+1:]
	}
	if err := json.Unmarshal([]byte(text), &st); err != nil {
		return Status{}, fmt.Errorf("region %s: pgrole status is not the expected JSON (%w): %.200s", r.Name, err, text)
	}
	return st, nil
}

// lagText renders the replay lag for reports.
func lagText(s Status) string {
	lag, ok := s.Lag()
	if !ok {
		return "unknown"
	}
	return lag.Round(100 * time.Millisecond).String()
}
