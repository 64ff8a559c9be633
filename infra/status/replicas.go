package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"

	"github.com/helloagents/infra/backend/labels"
)

// Replica is one backend container as its Docker engine reports it.
type Replica struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	// State is Docker's: running, restarting, exited, ...
	State string `json:"state"`
	// Health is the container healthcheck's verdict: healthy, unhealthy,
	// starting, or none.
	Health string `json:"health"`
}

// Replicas lists a region's backend replicas. The region's /health comes
// through the proxy and cannot count them; only the region's Docker engine
// knows every replica.
type Replicas interface {
	Backend(ctx context.Context, dockerHost, stack, region string) ([]Replica, error)
}

// dockerCLI asks the region's engine with the docker CLI (which reaches
// ssh:// hosts the way the Pulumi docker provider does), filtering on the
// labels every platform container carries.
type dockerCLI struct{}

func (dockerCLI) Backend(ctx context.Context, dockerHost, stack, region string) ([]Replica, error) {
	args := []string{"--host", dockerHost, "ps", "--all",
		"--filter", "label=" + labels.Stack + "=" + stack,
		"--filter", "label=" + labels.Region + "=" + region,
		"--filter", "label=" + labels.Role + "=" + string(labels.RoleBackend),
		"--format", "{{json .}}"}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("docker --host %s ps: %w: %s", dockerHost, err, strings.TrimSpace(stderr.String()))
	}
	return parsePS(out)
}

// parsePS reads `docker ps --format '{{json .}}'`: one JSON object a line.
// The healthcheck's verdict is only in the Status text ("Up 3 minutes
// (healthy)", "(health: starting)").
func parsePS(out []byte) ([]Replica, error) {
	var reps []Replica
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var c struct{ Names, Image, State, Status string }
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return nil, fmt.Errorf("docker ps: line %q is not a container: %w", line, err)
		}
		reps = append(reps, Replica{Name: c.Names, Image: c.Image, State: c.State, Health: healthOf(c.Status)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("docker ps: %w", err)
	}
	return reps, nil
}

func healthOf(status string) string {
	switch {
	case strings.Contains(status, "(healthy)"):
		return "healthy"
	case strings.Contains(status, "(unhealthy)"):
		return "unhealthy"
	case strings.Contains(status, "(health: starting)"):
		return "starting"
	}
	return "none"
}

// countHealthy is how many replicas run and pass their healthcheck.
func countHealthy(reps []Replica) int {
	n := 0
	for _, r := range reps {
		if r.State == "running" && r.Health == "healthy" {
			n++
		}
	}
	return n
}
