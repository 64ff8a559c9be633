package promote_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/helloagents/infra/contract"
)

// configImages returns each region's image in the production config.
func (e *env) configImages(t *testing.T) []string {
	t.Helper()
	raw, err := e.stacks.Config(t.Context(), "production")
	if err != nil {
		t.Fatal(err)
	}
	var regions []struct{ Image string }
	if err := json.Unmarshal([]byte(raw["helloagents:regions"]), &regions); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range regions {
		out = append(out, r.Image)
	}
	return out
}

// canaryImages returns each region's canaryImage in the production config
// and in the deployed state (the program's canaries output); "" where none.
func (e *env) canaryImages(t *testing.T) (config, deployed []string) {
	t.Helper()
	raw, err := e.stacks.Config(t.Context(), "production")
	if err != nil {
		t.Fatal(err)
	}
	var regions []struct{ CanaryImage string }
	if err := json.Unmarshal([]byte(raw["helloagents:regions"]), &regions); err != nil {
		t.Fatal(err)
	}
	out, err := e.stacks.Outputs(t.Context(), "production")
	if err != nil {
		t.Fatal(err)
	}
	running, _ := out["canaries"].(map[string]any)
	for i, r := range regions {
		config = append(config, r.CanaryImage)
		c, _ := running[e.regions[i].name].(map[string]any)
		img, _ := c["image"].(string)
		deployed = append(deployed, img)
	}
	return config, deployed
}

// backupImages returns the backup job's image in the production config and
// in the deployed state.
func (e *env) backupImages(t *testing.T) (config, deployed string) {
	t.Helper()
	raw, err := e.stacks.Config(t.Context(), "production")
	if err != nil {
		t.Fatal(err)
	}
	var b struct{ Image string }
	if err := json.Unmarshal([]byte(raw[contract.Namespace+":backup"]), &b); err != nil {
		t.Fatal(err)
	}
	out, err := e.stacks.Outputs(t.Context(), "production")
	if err != nil {
		t.Fatal(err)
	}
	d, err := contract.DecodeOutputs(out)
	if err != nil {
		t.Fatal(err)
	}
	return b.Image, d.BackupImage
}

// deployedImages returns each region's image in the deployed state.
func (e *env) deployedImages(t *testing.T) []string {
	t.Helper()
	out, err := e.stacks.Outputs(t.Context(), "production")
	if err != nil {
		t.Fatal(err)
	}
	images, _ := out["images"].(map[string]any)
	var list []string
	for _, r := range e.regions {
		s, _ := images[r.name].(string)
		list = append(list, s)
	}
	return list
}

// updates counts the production stack's recorded updates.
func (e *env) updates(t *testing.T) int {
	t.Helper()
	s, err := auto.SelectStack(t.Context(), "production", e.ws)
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.History(context.WithoutCancel(t.Context()), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(h)
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
