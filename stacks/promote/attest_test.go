package promote_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/stacks/promote"
)

// registryFake answers the attestation check like internal/attest.Registry
// (tested against a real registry there): the images in missing lack their
// SBOM and provenance. It records what was checked.
type registryFake struct {
	missing map[string]bool
	checked []string
}

func (r *registryFake) Check(_ context.Context, image string) error {
	r.checked = append(r.checked, image)
	if r.missing[image] {
		return fmt.Errorf("image %s has no SBOM (SPDX or CycloneDX) and no SLSA build provenance attestation in its registry", image)
	}
	return nil
}

// sourceGates counts the source gates: the check must come first.
type sourceGates struct {
	gates
	n *int
}

func (g sourceGates) Source(context.Context, string, string) error { *g.n++; return nil }

// The monitoring images, stack-wide artifacts: staging's new digests and
// the ones a released target runs.
var (
	newPrometheus   = "ghcr.io/helloagents/prometheus@sha256:" + strings.Repeat("6", 64)
	newAlertmanager = "ghcr.io/helloagents/alertmanager@sha256:" + strings.Repeat("7", 64)
	newPGExporter   = "ghcr.io/helloagents/pgexporter@sha256:" + strings.Repeat("8", 64)
	oldPrometheus   = "ghcr.io/helloagents/prometheus@sha256:" + strings.Repeat("9", 64)
	oldAlertmanager = "ghcr.io/helloagents/alertmanager@sha256:" + strings.Repeat("a", 64)
	oldPGExporter   = "ghcr.io/helloagents/pgexporter@sha256:" + strings.Repeat("d", 64)
)

// withMonitoring makes the source export new monitoring images that the
// target does not run yet: the promotion rolls them out, so each must be
// attested like the backend image.
func withMonitoring(m *memStacks, _ *promote.Options) {
	m.source[contract.OutputPrometheusImage] = newPrometheus
	m.source[contract.OutputAlertmanagerImage] = newAlertmanager
	m.source[contract.OutputPGExporterImage] = newPGExporter
	m.shared = map[string]string{
		contract.KeyPrometheusImage: oldPrometheus, contract.KeyAlertmanagerImage: oldAlertmanager, contract.KeyPGExporterImage: oldPGExporter,
	}
}

func TestAttestationsCheckedBeforeAnyChange(t *testing.T) {
	const backupImage = "ghcr.io/helloagents/pgbackup@sha256:" + "5555555555555555555555555555555555555555555555555555555555555555"
	tests := []struct {
		name     string
		mutate   func(*memStacks, *promote.Options)
		missing  []string
		want     promote.Outcome
		reason   []string // in the report's reason
		checked  []string // images checked, in order
		deployed string   // image every region runs afterwards
	}{
		{name: "attested images are promoted", want: promote.Promoted,
			checked: []string{newImage}, deployed: newImage},
		{name: "an unattested backend image is refused", missing: []string{newImage}, want: promote.Refused,
			reason: []string{"supply-chain check failed, nothing changed", newImage, "no SBOM"}, checked: []string{newImage}, deployed: oldImage},
		{name: "an unattested stack-wide image is refused",
			mutate: func(m *memStacks, _ *promote.Options) {
				m.source["backupImage"] = backupImage
				m.backup = oldBackup
			},
			missing: []string{backupImage}, want: promote.Refused, reason: []string{backupImage},
			checked: []string{newImage, backupImage}, deployed: oldImage},
		{name: "attested monitoring images are promoted", mutate: withMonitoring, want: promote.Promoted,
			checked: []string{newAlertmanager, newImage, newPGExporter, newPrometheus}, deployed: newImage},
		{name: "unattested monitoring images are refused", mutate: withMonitoring,
			missing: []string{newAlertmanager, newPGExporter}, want: promote.Refused,
			reason:  []string{"supply-chain check failed, nothing changed", newAlertmanager, newPGExporter},
			checked: []string{newAlertmanager, newImage, newPGExporter, newPrometheus}, deployed: oldImage},
		{name: "--image is checked", mutate: func(_ *memStacks, o *promote.Options) { o.From, o.Image = "", newImage },
			missing: []string{newImage}, want: promote.Refused, reason: []string{newImage}, checked: []string{newImage}, deployed: oldImage},
		{name: "--rollback is not checked",
			mutate: func(m *memStacks, o *promote.Options) {
				m.deploy(oldImage, oldImage, oldImage)
				m.deploy(newImage, newImage, newImage)
				o.From, o.Rollback = "", true
			},
			missing: []string{oldImage, newImage}, want: promote.Promoted, deployed: oldImage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem("a", "b", "c")
			o := memOptions(t)
			reg := &registryFake{missing: map[string]bool{}}
			for _, img := range tt.missing {
				reg.missing[img] = true
			}
			o.Attestations = reg
			var sourceGated int
			o.Gates = sourceGates{n: &sourceGated}
			if tt.mutate != nil {
				tt.mutate(m, &o)
			}
			rep := promote.Run(t.Context(), m, o)
			if rep.Outcome != tt.want {
				t.Fatalf("outcome %s (%q), want %s", rep.Outcome, rep.Reason, tt.want)
			}
			for _, r := range tt.reason {
				if !strings.Contains(rep.Reason, r) {
					t.Errorf("reason %q lacks %q", rep.Reason, r)
				}
			}
			if !slices.Equal(reg.checked, tt.checked) {
				t.Errorf("checked %q, want %q", reg.checked, tt.checked)
			}
			for i, img := range m.deployed {
				if img != tt.deployed {
					t.Errorf("region %d runs %s, want %s", i, img, tt.deployed)
				}
			}
			if tt.want == promote.Refused {
				if m.ups != 0 || sourceGated != 0 {
					t.Errorf("refused after %d updates and %d source gates: the check must come first", m.ups, sourceGated)
				}
				if _, err := os.Stat(o.Journal); err == nil {
					t.Error("a refused promotion wrote a journal")
				}
			}
		})
	}
}

func TestAttestationCheckRequired(t *testing.T) {
	for _, tt := range []struct {
		to       string
		required bool
	}{{"production", true}, {"acme/production", true}, {"eu-prod-2", true}, {"staging", true}, {"dev", false}} {
		t.Run(tt.to, func(t *testing.T) {
			o := memOptions(t)
			o.To, o.Attestations = tt.to, nil
			rep := promote.Run(t.Context(), newMem("a"), o)
			got := strings.Contains(rep.Reason, "an attestation check is required")
			if got != tt.required {
				t.Errorf("target %q: attestation check required = %v, want %v (outcome %s: %s)", tt.to, got, tt.required, rep.Outcome, rep.Reason)
			}
			if tt.required && rep.Outcome != promote.Usage {
				t.Errorf("target %q without a check: outcome %s, want usage", tt.to, rep.Outcome)
			}
		})
	}
}

// TestDevTargetSkipsTheCheck: a dev stack's images are local to its engine,
// never in a registry; nothing is asked.
func TestDevTargetSkipsTheCheck(t *testing.T) {
	o := memOptions(t)
	reg := &registryFake{missing: map[string]bool{newImage: true}}
	o.To, o.Attestations = "dev", reg
	rep := promote.Run(t.Context(), newMem("a"), o)
	if len(reg.checked) > 0 || strings.Contains(rep.Reason, "supply-chain") {
		t.Errorf("dev target: checked %q, outcome %s (%s)", reg.checked, rep.Outcome, rep.Reason)
	}
}
