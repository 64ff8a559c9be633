package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/helloagents/infra/backend/health"
)

// region serves /health with the backend's own report type.
func region(t *testing.T, code int, rep health.Report) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(rep)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func report(status, database health.Status, backups string) health.Report {
	c := map[string]health.Result{
		"database":   {Status: database, Message: "Database connection checked"},
		"ai_service": {Status: health.Configured, Message: "AI service API key is configured"},
	}
	if backups != "" {
		c["backups"] = health.Result{Status: health.Healthy, Message: backups}
	}
	return health.Report{Status: status, Timestamp: "2026-11-27T10:30:00Z", Version: "abc123", Components: c}
}

// fakeReplicas answers per region and records what it was asked.
type fakeReplicas struct {
	byRegion map[string][]Replica
	asked    []string
}

func (f *fakeReplicas) Backend(_ context.Context, host, stack, region string) ([]Replica, error) {
	f.asked = append(f.asked, host+" "+stack+" "+region)
	if region == "ap-south" {
		return nil, errors.New("docker --host ssh://ap: connection refused")
	}
	return f.byRegion[region], nil
}

const (
	image = "ghcr.io/helloagents/backend@sha256:abc"
	euImg = "ghcr.io/helloagents/backend@sha256:e0e0"
	usImg = "ghcr.io/helloagents/backend@sha256:0505"
)

func TestStatus(t *testing.T) {
	eu := region(t, 200, report(health.Healthy, health.Healthy, "last WAL segment archived 5s ago; last full backup 3h0m0s ago"))
	us := region(t, 503, report(health.Unhealthy, health.Unhealthy, ""))
	ap := region(t, 200, report(health.Healthy, "standby", "last WAL segment archived 5s ago; no full backup recorded"))
	outputs := func(_ context.Context, stack string) (map[string]any, error) {
		switch stack {
		case "production":
			return map[string]any{"backendImage": image, "healthUrls": map[string]any{
				"eu-west": eu.URL + "/health/ready", "us-east": us.URL + "/health/ready", "ap-south": ap.URL + "/health/ready"}}, nil
		case "staging":
			return map[string]any{"backendImage": image, "healthUrls": map[string]any{"eu-west": eu.URL + "/health/ready"}}, nil
		case "mistyped":
			return map[string]any{"backendImage": image, "healthUrls": eu.URL + "/health/ready"}, nil
		case "empty":
			return map[string]any{}, nil
		}
		return nil, errors.New("no stack named " + stack)
	}
	config := func(_ context.Context, stack string) (map[string]string, error) {
		if stack == "production" {
			return map[string]string{"helloagents:regions": `[{"name":"eu-west","dockerHost":"ssh://eu","image":"` + euImg +
				`"},{"name":"us-east","dockerHost":"ssh://us","image":"` + usImg + `"},{"name":"ap-south","dockerHost":"ssh://ap"}]`}, nil
		}
		return map[string]string{"helloagents:regions": `[{"name":"eu-west","dockerHost":"ssh://staging"}]`}, nil
	}
	reps := func() *fakeReplicas {
		return &fakeReplicas{byRegion: map[string][]Replica{
			"eu-west": {{Name: "b-0", State: "running", Health: "healthy"}, {Name: "b-1", State: "running", Health: "healthy"}},
			"us-east": {{Name: "b-0", State: "running", Health: "healthy"}, {Name: "b-1", State: "restarting", Health: "unhealthy"}},
		}}
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
		asked  []string
	}{
		{"table", []string{"--stack", "production"}, noEnv, 1, []string{
			"REGION", "REPLICAS", "DATABASE", "LAST BACKUP",
			"eu-west   healthy    2/2 healthy  primary", "3h0m0s ago", "abc123", euImg, "ai_service=configured backups=healthy database=healthy",
			"us-east   unhealthy  1/2 healthy  unknown (unhealthy)  none", usImg,
			"ap-south  healthy    unknown      standby              none", image, "replicas: docker --host ssh://ap: connection refused"}, "",
			[]string{"ssh://ap production ap-south", "ssh://eu production eu-west", "ssh://us production us-east"}},
		{"env", nil, env, 0, []string{"stack staging", "eu-west  healthy  2/2 healthy"}, "", []string{"ssh://staging staging eu-west"}},
		{"help", []string{"--help"}, noEnv, 0, nil, "Exit status: 0 every region and replica healthy", nil},
		{"no stack", nil, noEnv, 2, nil, "--stack is required", nil},
		{"zero timeout", []string{"--stack", "production", "--timeout", "0s"}, noEnv, 2, nil, "--timeout 0s: must be positive", nil},
		{"bad prometheus", []string{"--stack", "production", "--prometheus", "eu-west"}, noEnv, 2, nil, `"eu-west" is not REGION=URL`, nil},
		{"unknown stack", []string{"--stack", "nope"}, noEnv, 2, nil, "no stack named nope", nil},
		{"not deployed", []string{"--stack", "empty"}, noEnv, 2, nil, "has no healthUrls output", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			r := reps()
			d := deps{outputs: outputs, config: config, client: http.DefaultClient, replicas: r}
			code := run(t.Context(), tc.args, tc.getenv, d, &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, &errOut, tc.stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, &out)
				}
			}
			if strings.Join(r.asked, "|") != strings.Join(tc.asked, "|") {
				t.Errorf("replicas asked %q, want %q", r.asked, tc.asked)
			}
		})
	}
}

func TestStatusJSON(t *testing.T) {
	eu := region(t, 200, report(health.Healthy, "standby", "last WAL segment archived 5s ago; last full backup 25m0s ago"))
	d := deps{
		outputs: func(context.Context, string) (map[string]any, error) {
			return map[string]any{"backendImage": image, "healthUrls": map[string]any{"eu-west": eu.URL + "/health/ready"}}, nil
		},
		config: func(context.Context, string) (map[string]string, error) {
			return map[string]string{"helloagents:regions": `[{"name":"eu-west","dockerHost":"unix:///d.sock"}]`}, nil
		},
		client:   http.DefaultClient,
		replicas: &fakeReplicas{byRegion: map[string][]Replica{"eu-west": {{Name: "b-0", State: "running", Health: "starting"}}}},
	}
	var out bytes.Buffer
	if code := run(t.Context(), []string{"--stack", "production", "--json"}, func(string) string { return "" }, d, &out, &bytes.Buffer{}); code != 1 {
		t.Errorf("exit %d, want 1: a replica still starting is not healthy", code)
	}
	var st Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("--json: %v\n%s", err, &out)
	}
	r := st.Regions[0]
	if len(st.Regions) != 1 || r.Status != "healthy" || r.DatabaseRole != "standby" || r.Image != image ||
		r.LastBackupSeconds == nil || *r.LastBackupSeconds != 1500 || r.HealthyReplicas != 0 || len(r.Replicas) != 1 ||
		r.Components["backups"].Status != "healthy" {
		t.Errorf("status %+v", st)
	}
}

// TestParsePS reads docker ps --format '{{json .}}' lines as the docker CLI
// prints them.
func TestParsePS(t *testing.T) {
	line := func(name, state, status string) string {
		b, _ := json.Marshal(map[string]string{"Command": `"/server"`, "ID": "0123456789ab", "Image": image,
			"Labels": "helloagents.role=backend", "Names": name, "State": state, "Status": status, "RunningFor": "3 minutes ago"})
		return string(b)
	}
	tests := []struct {
		name    string
		out     string
		want    []Replica
		healthy int
		err     string
	}{
		{"none", "", nil, 0, ""},
		{"healthy and unhealthy", line("b-0", "running", "Up 3 minutes (healthy)") + "\n" +
			line("b-1", "running", "Up 3 minutes (unhealthy)") + "\n",
			[]Replica{{"b-0", image, "running", "healthy"}, {"b-1", image, "running", "unhealthy"}}, 1, ""},
		{"starting, restarting, no healthcheck", line("b-0", "running", "Up 2 seconds (health: starting)") + "\n" +
			line("b-1", "restarting", "Restarting (1) 5 seconds ago") + "\n" + line("b-2", "running", "Up 1 hour"),
			[]Replica{{"b-0", image, "running", "starting"}, {"b-1", image, "restarting", "none"}, {"b-2", image, "running", "none"}}, 0, ""},
		{"exited but once healthy", line("b-0", "exited", "Exited (1) 2 minutes ago"), []Replica{{"b-0", image, "exited", "none"}}, 0, ""},
		{"not JSON", "CONTAINER ID   IMAGE\n", nil, 0, "is not a container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePS([]byte(tt.out))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("replica %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			if n := countHealthy(got); n != tt.healthy {
				t.Errorf("%d healthy, want %d", n, tt.healthy)
			}
		})
	}
}
