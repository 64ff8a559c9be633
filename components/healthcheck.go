package components

import (
	"time"

	"github.com/helloagents/infra/healthcheck"
)

// seconds rounds d to whole seconds, the unit of Docker's and Cloudflare's
// health-check settings.
func seconds(d time.Duration) int { return int(d.Round(time.Second) / time.Second) }

// DockerDuration renders d, rounded to whole seconds, the way the docker
// provider reads a healthcheck duration back from the engine: Go's
// time.Duration.String ("30s", "1m0s", "1m30s"). "60s" would read back as
// "1m0s" and replace the container on every `up`.
func DockerDuration(d time.Duration) string {
	return (time.Duration(seconds(d)) * time.Second).String()
}

// WaitSeconds bounds how long creating a container may wait for Docker's
// first "healthy": the start period, one probe interval per allowed failure
// plus the first, and one probe timeout.
func WaitSeconds(hc healthcheck.Settings) int {
	return seconds(hc.StartPeriod) + seconds(hc.Interval)*(hc.Retries+1) + seconds(hc.Timeout)
}
