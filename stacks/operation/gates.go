package operation

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/verify"
)

// Gates decides whether a deployment is good enough to go on. A promotion
// asks it for the source stack before anything changes and for each
// region after that region's update; a failover for every region after
// its update.
type Gates interface {
	// Source checks the whole source deployment behind its API URL;
	// frontendURL is the source's frontend ("" when it exports none).
	Source(ctx context.Context, apiURL, frontendURL string) error
	// Region checks one target region through its readiness URL, with the
	// shared health-check settings; frontendURL is the target's frontend.
	Region(ctx context.Context, healthURL, frontendURL string, hc healthcheck.Settings) error
}

// VerifyGates are the operations' gates: the verify suite (health
// endpoints and smoke suite) on the source, and on each region its
// readiness gate (verify.Gate) followed by the same suite against that
// region's API.
type VerifyGates struct {
	// Verify is the template of every suite run: retries, backoff,
	// timeouts, request count, minimum pass rate. API and Frontend are
	// filled in per run from the stacks' apiUrl, healthUrls and frontendUrl
	// outputs, so the CORS check uses the origin that stack really serves.
	Verify verify.Options
	// Client makes the gate requests; nil means a default client.
	Client *http.Client
}

// Source implements Gates.
func (g VerifyGates) Source(ctx context.Context, apiURL, frontendURL string) error {
	return g.suite(ctx, apiURL, frontendURL)
}

// Region implements Gates.
func (g VerifyGates) Region(ctx context.Context, healthURL, frontendURL string, hc healthcheck.Settings) error {
	if err := verify.Gate(ctx, healthURL, hc, g.Client); err != nil {
		return err
	}
	api, err := verify.APIFromHealthURL(healthURL)
	if err != nil {
		return err
	}
	return g.suite(ctx, api, frontendURL)
}

func (g VerifyGates) suite(ctx context.Context, api, frontend string) error {
	o := g.Verify
	o.API, o.Frontend = api, frontend
	if o.Client == nil {
		o.Client = g.Client
	}
	rep := verify.Run(ctx, o)
	if rep.Passed() {
		return nil
	}
	var failed []string
	for _, c := range rep.Failed() {
		failed = append(failed, fmt.Sprintf("%s: %s", c.Name, c.Detail))
	}
	return fmt.Errorf("verify %s failed: %s", rep.API, strings.Join(failed, "; "))
}
