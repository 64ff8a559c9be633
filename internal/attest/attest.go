// Package attest checks, through the registry API, that an image digest
// carries the supply-chain attestations the deploy workflow attaches to every
// image it pushes: a signed SBOM (SPDX or CycloneDX) and a signed SLSA build
// provenance.
//
// The deploy workflow makes them with actions/attest (push-to-registry), which
// stores each one as a Sigstore bundle in an OCI artifact whose manifest has
// the image as its subject, annotated with the bundle's predicate type
// (dev.sigstore.bundle.predicateType). They are found with the OCI referrers
// API, or its tag-schema fallback (sha256-<hex>) on registries without it.
// The check reads the listing only: whether each signature is valid, and
// made by this repository's workflow, is `gh attestation verify`'s job
// (promote.yml runs it before the promotion).
package attest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// AnnotationPredicateType is the annotation of a Sigstore bundle's OCI
// artifact naming the in-toto predicate type of the attestation inside.
const AnnotationPredicateType = "dev.sigstore.bundle.predicateType"

// Predicate types of the attestations actions/attest writes.
const (
	PredicateSLSAProvenance = "https://slsa.dev/provenance/v1"
	PredicateCycloneDX      = "https://cyclonedx.org/bom"
	// PredicateSPDXPrefix starts the SPDX predicate type, which names the
	// document's version (https://spdx.dev/Document/v2.3).
	PredicateSPDXPrefix = "https://spdx.dev/Document"
)

// Kind is one attestation an image must carry.
type Kind struct {
	// Name is what error messages call it.
	Name string
	// Matches reports whether a predicate type is of this kind.
	Matches func(predicateType string) bool
}

// SBOM is an SPDX or CycloneDX software bill of materials.
var SBOM = Kind{Name: "SBOM (SPDX or CycloneDX)", Matches: func(p string) bool {
	return p == PredicateCycloneDX || strings.HasPrefix(p, PredicateSPDXPrefix)
}}

// Provenance is a SLSA build provenance.
var Provenance = Kind{Name: "SLSA build provenance (" + PredicateSLSAProvenance + ")", Matches: func(p string) bool {
	return p == PredicateSLSAProvenance
}}

// Registry checks images in their registries.
type Registry struct {
	// Require lists the attestations each image needs; Check refuses an
	// empty list (it would accept anything).
	Require []Kind
	// Keychain authenticates to the registries; nil means the Docker
	// credentials of this machine (~/.docker/config.json, `docker login`).
	Keychain authn.Keychain
	// Options are further registry options (tests pass a transport).
	Options []remote.Option
}

// Default requires an SBOM and a provenance, read with this machine's
// Docker credentials.
func Default() Registry { return Registry{Require: []Kind{SBOM, Provenance}} }

// Missing is the error of an image that lacks attestations.
type Missing struct {
	Image string
	// Kinds are the names of the missing attestations.
	Kinds []string
	// Found are the predicate types the image does have.
	Found []string
}

func (m *Missing) Error() string {
	found := "none"
	if len(m.Found) > 0 {
		found = strings.Join(m.Found, ", ")
	}
	return fmt.Sprintf("image %s has no %s attestation in its registry (attestations found: %s); "+
		"only images the deploy workflow scanned and attested may be promoted", m.Image, strings.Join(m.Kinds, " and no "), found)
}

// Check returns nil when image (repo@sha256:...) carries every required
// attestation, a *Missing naming the digest and what it lacks, or the
// error that kept the registry from answering.
func (r Registry) Check(ctx context.Context, image string) error {
	if len(r.Require) == 0 {
		return errors.New("attest: no attestation required; refusing to accept every image")
	}
	d, err := name.NewDigest(image)
	if err != nil {
		return fmt.Errorf("image %q: attestations are looked up by digest (repo@sha256:...): %w", image, err)
	}
	kc := r.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}, r.Options...)
	idx, err := remote.Referrers(d, opts...)
	if err != nil {
		return fmt.Errorf("list the attestations of %s in %s: %w", image, d.RegistryStr(), err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("read the attestations of %s: %w", image, err)
	}
	var found []string
	for _, desc := range m.Manifests {
		if p := desc.Annotations[AnnotationPredicateType]; p != "" && !slices.Contains(found, p) {
			found = append(found, p)
		}
	}
	miss := &Missing{Image: image, Found: found}
	for _, k := range r.Require {
		if !slices.ContainsFunc(found, k.Matches) {
			miss.Kinds = append(miss.Kinds, k.Name)
		}
	}
	if len(miss.Kinds) > 0 {
		return miss
	}
	return nil
}
