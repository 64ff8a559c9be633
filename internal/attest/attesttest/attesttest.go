// Package attesttest pushes images and attestations to a real OCI registry
// running in the test process, for the tests of the attestation check.
package attesttest

import (
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/helloagents/infra/internal/attest"
)

// NewRegistry starts a real OCI registry (go-containerregistry's, in process) with or without
// the referrers API; attestations are pushed the way actions/attest pushes
// them (@sigstore/oci): an OCI manifest of artifactType Sigstore bundle, an
// empty config, the bundle as its one layer, the image as its subject and
// the predicate type as an annotation.
func NewRegistry(t testing.TB, referrersAPI bool) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(referrersAPI), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// PushImage pushes a random image and returns its digest reference.
func PushImage(t testing.TB, host, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(host + "/" + repo + ":staging")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("push %s: %v", tag, err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(h.String())
}

const bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"

type rawManifest struct {
	body []byte
	mt   types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.body, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// Attach pushes an attestation of predicateType with subject as its subject.
func Attach(t testing.TB, subject name.Digest, predicateType string) {
	t.Helper()
	sub, err := remote.Head(subject)
	if err != nil {
		t.Fatal(err)
	}
	bundle := static.NewLayer([]byte(`{"mediaType":"`+bundleType+`","dsseEnvelope":{"payloadType":"application/vnd.in-toto+json"}}`), bundleType)
	config := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	descs := make([]v1.Descriptor, 0, 2)
	for _, l := range []v1.Layer{config, bundle} {
		if err := remote.WriteLayer(subject.Context(), l); err != nil {
			t.Fatal(err)
		}
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		size, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		mt, err := l.MediaType()
		if err != nil {
			t.Fatal(err)
		}
		descs = append(descs, v1.Descriptor{MediaType: mt, Digest: d, Size: size})
	}
	body, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     types.OCIManifestSchema1,
		"artifactType":  bundleType,
		"config":        descs[0],
		"layers":        []v1.Descriptor{descs[1]},
		"subject":       v1.Descriptor{MediaType: sub.MediaType, Digest: sub.Digest, Size: sub.Size},
		"annotations": map[string]string{
			"dev.sigstore.bundle.content":      "dsse-envelope",
			attest.AnnotationPredicateType:     predicateType,
			"org.opencontainers.image.created": "2026-12-06T00:00:00Z",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := v1.SHA256(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(subject.Context().Digest(h.String()), rawManifest{body, types.OCIManifestSchema1}); err != nil {
		t.Fatalf("push attestation %s of %s: %v", predicateType, subject, err)
	}
}
