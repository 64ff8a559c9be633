package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/internal/fakebackend"
)

// region is a backend of version abc123 whose database is up or down.
func region(t *testing.T, databaseUp bool) *fakebackend.Backend {
	t.Helper()
	b := fakebackend.New(t)
	b.SetVersion("abc123")
	if !databaseUp {
		b.SetComponent(fakebackend.Database, health.Unhealthy, "Database connection failed")
	}
	return b
}

func TestStatus(t *testing.T) {
	eu, us := region(t, true), region(t, false)
	const image = "ghcr.io/helloagents/backend@sha256:abc"
	outputs := func(_ context.Context, stack string) (map[string]any, error) {
		switch stack {
		case "production":
			return map[string]any{"backendImage": image, "healthUrls": map[string]any{
				"eu-west": eu.URL + "/health/ready", "us-east": us.URL + "/health/ready"}}, nil
		case "staging":
			return map[string]any{"backendImage": image, "healthUrls": map[string]any{"eu-west": eu.URL + "/health/ready"}}, nil
		case "mistyped":
			return map[string]any{"backendImage": image, "healthUrls": eu.URL + "/health/ready"}, nil
		case "empty":
			return map[string]any{}, nil
		}
		return nil, errors.New("no stack named " + stack)
	}
	env := func(k string) string { return map[string]string{envStack: "staging"}[k] }
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		name   string
		args   []string
		getenv func(string) string
		code   int
		stdout []string
		stderr string
	}{
		{"table", []string{"--stack", "production"}, noEnv, 1, []string{
			"REGION", "eu-west  healthy", "us-east  unhealthy", "abc123", image, "ai_service=configured database=healthy"}, ""},
		{"env", nil, env, 0, []string{"stack staging", "eu-west  healthy"}, ""},
		{"help", []string{"--help"}, noEnv, 0, nil, "Exit status: 0 every region healthy"},
		{"no stack", nil, noEnv, 2, nil, "--stack is required"},
		{"unknown stack", []string{"--stack", "nope"}, noEnv, 2, nil, "no stack named nope"},
		{"not deployed", []string{"--stack", "empty"}, noEnv, 2, nil, "has no healthUrls output"},
		{"mistyped output", []string{"--stack", "mistyped"}, noEnv, 2, nil,
			`stack "mistyped": output healthUrls: got a string, want an object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), tc.args, tc.getenv, outputs, http.DefaultClient, &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, &errOut, tc.stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, &out)
				}
			}
		})
	}

	var out bytes.Buffer
	run(t.Context(), []string{"--stack", "production", "--json"}, noEnv, outputs, http.DefaultClient, &out, &bytes.Buffer{})
	var st Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("--json: %v\n%s", err, &out)
	}
	if len(st.Regions) != 2 || st.Regions[1].Status != "unhealthy" || st.Regions[1].HTTPStatus != 503 ||
		st.Regions[0].Components["database"].Status != "healthy" {
		t.Errorf("status %+v", st)
	}
}
