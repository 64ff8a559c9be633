package attest_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/helloagents/infra/internal/attest"
	"github.com/helloagents/infra/internal/attest/attesttest"
)

func TestRegistryCheck(t *testing.T) {
	const spdx = "https://spdx.dev/Document/v2.3"
	tests := []struct {
		name string
		// on the promoted image, and on another image of the repository
		attached, elsewhere []string
		missing             []string // kinds named in the refusal; nil: accepted
	}{
		{name: "SPDX SBOM and provenance", attached: []string{spdx, attest.PredicateSLSAProvenance}},
		{name: "CycloneDX SBOM and provenance", attached: []string{attest.PredicateSLSAProvenance, attest.PredicateCycloneDX}},
		{name: "nothing attached", missing: []string{"SBOM", "provenance"}},
		{name: "provenance only", attached: []string{attest.PredicateSLSAProvenance}, missing: []string{"SBOM"}},
		{name: "SBOM only", attached: []string{spdx}, missing: []string{"provenance"}},
		{name: "attestations of another image", elsewhere: []string{spdx, attest.PredicateSLSAProvenance}, missing: []string{"SBOM", "provenance"}},
		{name: "a vulnerability report is no SBOM", attached: []string{"https://cosign.sigstore.dev/attestation/vuln/v1", attest.PredicateSLSAProvenance}, missing: []string{"SBOM"}},
	}
	for _, api := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(map[bool]string{true: "referrers API", false: "tag fallback"}[api]+"/"+tt.name, func(t *testing.T) {
				host := attesttest.NewRegistry(t, api)
				img := attesttest.PushImage(t, host, "helloagents/backend")
				other := attesttest.PushImage(t, host, "helloagents/backend")
				for _, p := range tt.attached {
					attesttest.Attach(t, img, p)
				}
				for _, p := range tt.elsewhere {
					attesttest.Attach(t, other, p)
				}
				err := attest.Default().Check(t.Context(), img.String())
				if tt.missing == nil {
					if err != nil {
						t.Fatalf("refused an attested image: %v", err)
					}
					return
				}
				var miss *attest.Missing
				if !errors.As(err, &miss) {
					t.Fatalf("err = %v, want *attest.Missing", err)
				}
				msg := err.Error()
				if !strings.Contains(msg, img.DigestStr()) {
					t.Errorf("refusal does not name the digest %s: %s", img.DigestStr(), msg)
				}
				for _, k := range tt.missing {
					if !strings.Contains(msg, "no "+k) && !strings.Contains(msg, k) {
						t.Errorf("refusal does not name the missing %s: %s", k, msg)
					}
				}
				if len(miss.Kinds) != len(tt.missing) {
					t.Errorf("missing %q, want %d kinds %q", miss.Kinds, len(tt.missing), tt.missing)
				}
				for _, p := range tt.attached {
					if !strings.Contains(msg, p) {
						t.Errorf("refusal does not list the attestation %s it found: %s", p, msg)
					}
				}
			})
		}
	}
}

func TestRegistryCheckErrors(t *testing.T) {
	host := attesttest.NewRegistry(t, true)
	img := attesttest.PushImage(t, host, "helloagents/backend")
	down := httptest.NewServer(registry.New())
	downHost := strings.TrimPrefix(down.URL, "http://")
	down.Close()
	tests := []struct {
		name  string
		r     attest.Registry
		image string
		want  string
	}{
		{"a tag is not a digest", attest.Default(), host + "/helloagents/backend:staging", "by digest"},
		{"registry unreachable", attest.Default(), downHost + "/helloagents/backend@" + img.DigestStr(), "list the attestations"},
		{"nothing required", attest.Registry{}, img.String(), "refusing to accept every image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Check(t.Context(), tt.image)
			var miss *attest.Missing
			if err == nil || errors.As(err, &miss) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want an error with %q (not a missing attestation)", err, tt.want)
			}
		})
	}
}
