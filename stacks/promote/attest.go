package promote

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/helloagents/infra/policy/env"
)

// Attestations checks that an image digest carries the supply-chain
// attestations the deploy workflow attaches to what it pushes (an SBOM and a
// build provenance): internal/attest.Registry asks the image's registry.
type Attestations interface {
	Check(ctx context.Context, image string) error
}

// checksAttestations reports whether a run into the target stack must check
// attestations: every target but a dev stack, whose images are local to its
// Docker engine and never in a registry.
func checksAttestations(to string) bool {
	e, ok := env.Named(to)
	return !ok || !e.Local()
}

// attested checks every image the run rolls out before anything changes;
// false when the run ended (refused). A --rollback is not checked: it
// returns each region to a digest the target ran before, taken from its own
// history, and must stay possible whatever the registry says.
func (e *engine) attested(ctx context.Context, rel release) bool {
	o := e.o
	if o.Rollback {
		e.logf("rollback to previous digests: attestations not checked")
		return true
	}
	if !checksAttestations(o.To) {
		e.logf("target %q is a dev stack (local images): attestations not checked", o.To)
		return true
	}
	images := map[string]bool{}
	for _, img := range rel.images {
		images[img] = true
	}
	for _, img := range rel.shared {
		images[img] = true
	}
	var errs []error
	for _, img := range slices.Sorted(maps.Keys(images)) {
		e.logf("checking the SBOM and provenance attestations of %s", img)
		if err := o.Attestations.Check(ctx, img); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		e.end(Refused, fmt.Errorf("supply-chain check failed, nothing changed: %w", errors.Join(errs...)))
		return false
	}
	return true
}
