package components_test

import (
	"testing"
	"time"

	"github.com/helloagents/infra/components"
)

// TestDockerDuration pins the form the provider reads healthcheck durations
// back in: time.Duration.String of the engine's nanoseconds.
func TestDockerDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {5 * time.Second, "5s"}, {30 * time.Second, "30s"}, {time.Minute, "1m0s"},
		{90 * time.Second, "1m30s"}, {1500 * time.Millisecond, "2s"}, {time.Hour, "1h0m0s"},
	} {
		if got := components.DockerDuration(tc.d); got != tc.want {
			t.Errorf("DockerDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
