// Package pulumicli reads a stack through the Pulumi CLI on PATH (its
// outputs, its config), so the operator commands that need no Automation
// API link no Pulumi SDK.
package pulumicli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// StackOutputs reads a stack's outputs with the Pulumi CLI on PATH, from the
// project in the current directory and the backend `pulumi login` (or
// PULUMI_BACKEND_URL) selects.
func StackOutputs(ctx context.Context, stack string) (map[string]any, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "pulumi", "stack", "output", "--json", "--stack", stack)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pulumi stack output --json --stack %s: %w: %s", stack, err, strings.TrimSpace(stderr.String()))
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("pulumi stack output --json --stack %s: not a JSON object: %w", stack, err)
	}
	return m, nil
}

// StackConfig reads a stack's config with the Pulumi CLI on PATH (project
// in the current directory): every value by full key, objects as JSON
// text. Secrets stay masked ("[secret]"): callers only read plain values.
func StackConfig(ctx context.Context, stack string) (map[string]string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "pulumi", "config", "--json", "--stack", stack)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pulumi config --json --stack %s: %w: %s", stack, err, strings.TrimSpace(stderr.String()))
	}
	var m map[string]struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("pulumi config --json --stack %s: not a JSON object: %w", stack, err)
	}
	cfg := make(map[string]string, len(m))
	for k, v := range m {
		cfg[k] = v.Value
	}
	return cfg, nil
}
