package components

import (
	"fmt"
	"maps"
	"time"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/drain"
	"github.com/helloagents/infra/backend/labels"
)

// Stop is how a container of the platform stops: the signal its image
// drains on, the longest that drain takes, and the time after it for the
// process to exit. Its grace period (Drain + Exit) is what every stop
// waits before SIGKILL: the docker provider's delete (replacement and
// destroy: destroyGraceSeconds, SIGKILL at once when unset) and
// `docker stop` or an engine restart (the container's stop timeout).
type Stop struct {
	Signal string
	Drain  time.Duration
	Exit   time.Duration
	// Env are the variables that set the drain inside the container
	// (package drain); the component adds them to the container's own, so
	// the container says what its grace period was derived from.
	Env map[string]string
}

// StopFor is how a container of role stops. It is the one place the
// platform's grace periods are decided; harden applies it to every
// container.
func StopFor(r labels.ContainerRole) Stop {
	switch r {
	case labels.RoleBackend:
		// SIGTERM: readiness turns 503 and the server keeps serving for the
		// delay (the proxy takes the replica out), then drains the requests
		// in flight; then it closes the pool and flushes logs and Sentry.
		return Stop{Signal: "SIGTERM", Drain: drain.ServerDelay + drain.ServerTimeout, Exit: drain.ServerExit,
			Env: map[string]string{
				drain.EnvServerDelay:   drain.Format(drain.ServerDelay),
				drain.EnvServerTimeout: drain.Format(drain.ServerTimeout),
			}}
	case labels.RoleProxy:
		// SIGUSR1 is HAProxy's soft stop: stop listening, finish what is in
		// flight, within hard-stop-after.
		return Stop{Signal: "SIGUSR1", Drain: drain.ProxyHardStop, Exit: 2 * time.Second,
			Env: map[string]string{drain.EnvProxyHardStop: drain.Format(drain.ProxyHardStop)}}
	case labels.RoleTunnel:
		// cloudflared stops taking requests and waits for those in progress.
		return Stop{Signal: "SIGTERM", Drain: drain.TunnelGrace, Exit: 5 * time.Second,
			Env: map[string]string{drain.EnvTunnelGrace: drain.Format(drain.TunnelGrace)}}
	case labels.RolePostgres:
		// SIGINT is PostgreSQL's fast shutdown: sessions end, a shutdown
		// checkpoint is written and the archiver pushes the last WAL
		// segment (pgBackRest archive-push), so the next start needs no
		// crash recovery and the archive has every commit.
		return Stop{Signal: "SIGINT", Drain: 55 * time.Second, Exit: 5 * time.Second}
	case labels.RolePITR:
		// pitrjob cancels a running pgBackRest command with SIGTERM, which
		// releases its lock, and waits for it (backend/pitr: WaitDelay 10 s).
		return Stop{Signal: "SIGTERM", Drain: 10 * time.Second, Exit: 5 * time.Second}
	case labels.RoleBackup:
		// pgbackup aborts a running dump and its upload (WaitDelay 5 s), so
		// no half-written object looks like a good backup.
		return Stop{Signal: "SIGTERM", Drain: 5 * time.Second, Exit: 5 * time.Second}
	case labels.RolePrometheus:
		// Prometheus stops scraping and evaluating, sends the alerts still
		// queued to Alertmanager and closes the TSDB (its WAL is on the
		// data volume either way; a kill costs a WAL replay at the next
		// start, not data).
		return Stop{Signal: "SIGTERM", Drain: 25 * time.Second, Exit: 5 * time.Second}
	case labels.RoleAlertmanager:
		// Alertmanager writes its silences and notification log to the
		// data volume, so a restart neither forgets a silence nor repeats
		// a notification.
		return Stop{Signal: "SIGTERM", Drain: 5 * time.Second, Exit: 5 * time.Second}
	case labels.RolePGExporter:
		// The exporter holds nothing but a scrape in flight.
		return Stop{Signal: "SIGTERM", Drain: 2 * time.Second, Exit: 3 * time.Second}
	}
	panic(fmt.Sprintf("components: no stop for role %q", r))
}

// Grace is how long a stop waits before SIGKILL.
func (s Stop) Grace() time.Duration { return s.Drain + s.Exit }

// GraceSeconds is Grace in the whole seconds Docker counts, rounded up.
func (s Stop) GraceSeconds() int {
	return int((s.Grace() + time.Second - 1) / time.Second)
}

// apply sets the stop signal, the stop timeout and the provider's grace
// period of c to s.
func (s Stop) apply(c *docker.ContainerArgs) {
	c.StopSignal = pulumi.String(s.Signal)
	c.StopTimeout = pulumi.Int(s.GraceSeconds())
	c.DestroyGraceSeconds = pulumi.Int(s.GraceSeconds())
}

// withDrainEnv returns plain with s's drain variables added.
func (s Stop) withDrainEnv(plain map[string]string) map[string]string {
	out := make(map[string]string, len(plain)+len(s.Env))
	maps.Copy(out, plain)
	maps.Copy(out, s.Env)
	return out
}
