package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helloagents/infra/policy/restype"
)

func TestEffectiveUser(t *testing.T) {
	tests := []struct {
		name       string
		dockerfile string
		args       map[string]string
		target     string
		wantUser   string
		wantSet    bool
		wantStage  string
		wantErr    string
	}{
		{
			name:       "single stage numeric",
			dockerfile: "FROM debian:bookworm-slim\nUSER 10001:10001\nCMD [\"/server\"]\n",
			wantUser:   "10001:10001", wantSet: true, wantStage: "stage 0",
		},
		{
			name:       "no USER",
			dockerfile: "FROM debian:bookworm-slim\nCMD [\"/server\"]\n",
			wantStage:  "stage 0",
		},
		{
			name: "multi-stage: builder root, final non-root",
			dockerfile: `ARG GO_IMAGE=golang:1.26
ARG RUNTIME_IMAGE=gcr.io/distroless/static
FROM ${GO_IMAGE} AS build
USER root
RUN go build -o /server ./cmd/server
FROM ${RUNTIME_IMAGE} AS runtime
COPY --from=build /server /server
USER 65532:65532
ENTRYPOINT ["/server"]
`,
			wantUser: "65532:65532", wantSet: true, wantStage: "runtime",
		},
		{
			name: "multi-stage: final stage forgets USER",
			dockerfile: `FROM golang:1.26 AS build
USER 10001
FROM debian:bookworm-slim AS runtime
COPY --from=build /server /server
`,
			wantStage: "runtime",
		},
		{
			name:       "USER root then USER app",
			dockerfile: "FROM debian\nUSER root\nRUN apt-get update\nUSER app\n",
			wantUser:   "app", wantSet: true, wantStage: "stage 0",
		},
		{
			name:       "USER app then USER root",
			dockerfile: "FROM debian\nUSER app\nUSER root\n",
			wantUser:   "root", wantSet: true, wantStage: "stage 0",
		},
		{
			name:       "ARG default in USER",
			dockerfile: "FROM debian\nARG UID=10001\nUSER ${UID}:${UID}\n",
			wantUser:   "10001:10001", wantSet: true, wantStage: "stage 0",
		},
		{
			name:       "build arg overrides USER to root",
			dockerfile: "FROM debian\nARG UID=10001\nUSER $UID\n",
			args:       map[string]string{"UID": "0"},
			wantUser:   "0", wantSet: true, wantStage: "stage 0",
		},
		{
			name:       "global ARG redeclared in stage",
			dockerfile: "ARG UID=4242\nFROM debian\nARG UID\nUSER $UID\n",
			wantUser:   "4242", wantSet: true, wantStage: "stage 0",
		},
		{
			name:       "global ARG not redeclared is not visible",
			dockerfile: "ARG UID=4242\nFROM debian\nUSER $UID\n",
			wantUser:   "", wantSet: true, wantStage: "stage 0",
		},
		{
			name:       "ENV used in USER",
			dockerfile: "FROM debian\nENV APP_UID=777\nUSER ${APP_UID}\n",
			wantUser:   "777", wantSet: true, wantStage: "stage 0",
		},
		{
			name: "stage built FROM an earlier stage inherits its USER",
			dockerfile: `FROM debian AS base
USER 10001
FROM base AS final
RUN true
`,
			wantUser: "10001", wantSet: true, wantStage: "final",
		},
		{
			name: "FROM stage name via ARG",
			dockerfile: `ARG BASE=base
FROM debian AS base
USER 0
FROM ${BASE}
`,
			wantUser: "0", wantSet: true, wantStage: "stage 1",
		},
		{
			name: "target selects a root stage",
			dockerfile: `FROM debian AS debug
FROM debian AS release
USER 10001
`,
			target:    "debug",
			wantStage: "debug",
		},
		{
			name:       "unknown target",
			dockerfile: "FROM debian AS a\nUSER 1\n",
			target:     "nope",
			wantErr:    `build target "nope"`,
		},
		{
			name:       "no FROM",
			dockerfile: "# just a comment\n",
			wantErr:    "parse Dockerfile",
		},
		{
			name:       "escape directive",
			dockerfile: "# escape=`\nFROM debian\nARG U=5\nUSER `$notvar${U}\n",
			wantUser:   "$notvar5", wantSet: true, wantStage: "stage 0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EffectiveUser([]byte(tt.dockerfile), tt.args, tt.target)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.User != tt.wantUser || got.Set != tt.wantSet || got.Stage != tt.wantStage {
				t.Errorf("got %+v, want user %q set %v stage %q", got, tt.wantUser, tt.wantSet, tt.wantStage)
			}
		})
	}
}

func TestIsRootUser(t *testing.T) {
	for user, want := range map[string]bool{
		"": true, "root": true, "0": true, "00": true, "0:0": true, "root:app": true,
		"10001": false, "10001:0": false, "app": false, "app:root": false,
	} {
		if got := IsRootUser(user); got != want {
			t.Errorf("IsRootUser(%q) = %v, want %v", user, got, want)
		}
	}
}

func TestDockerfilePath(t *testing.T) {
	tests := []struct{ program, context, dockerfile, want string }{
		{"/repo/infra", "../backend", "", "/repo/backend/Dockerfile"},
		{"/repo/infra", "/repo/backend", "", "/repo/backend/Dockerfile"},
		{"/repo/infra", "../backend", "../backend/pgbackup.Dockerfile", "/repo/backend/pgbackup.Dockerfile"},
		{"/repo/infra", "/repo/backend", "/repo/backend/Dockerfile", "/repo/backend/Dockerfile"},
		{"/repo", "", "", "/repo/Dockerfile"},
	}
	for _, tt := range tests {
		got, err := DockerfilePath(tt.program, tt.context, tt.dockerfile)
		if err != nil || got != tt.want {
			t.Errorf("DockerfilePath(%q, %q, %q) = %q, %v; want %q", tt.program, tt.context, tt.dockerfile, got, err, tt.want)
		}
	}
}

func TestImagesRunAsNonRoot(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, "backend", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "backend"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "infra"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("Dockerfile", "ARG BASE=debian\nFROM golang AS build\nFROM ${BASE}\nARG UID=10001\nUSER ${UID}:${UID}\n")
	write("root.Dockerfile", "FROM golang AS build\nUSER 10001\nFROM debian\nUSER root\n")
	write("nouser.Dockerfile", "FROM debian\nCMD [\"/server\"]\n")

	c := ctxFor(Staging)
	c.Settings.ProgramDir = filepath.Join(dir, "infra")
	build := func(kv ...any) map[string]any {
		b := map[string]any{"context": "../backend"}
		for i := 0; i < len(kv); i += 2 {
			b[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"imageName": "helloagents/backend:dev", "skipPush": true, "build": b}
	}
	tests := []struct {
		name  string
		props map[string]any
		want  [][]string
	}{
		{"default Dockerfile in context", build(), nil},
		{"absolute paths", build("context", filepath.Join(dir, "backend"), "dockerfile", filepath.Join(dir, "backend", "Dockerfile")), nil},
		{"build arg makes it root", build("args", map[string]any{"UID": "0"}), [][]string{{`effective USER is "0:0"`, "USER 10001:10001"}}},
		{"dockerfile relative to program dir", build("dockerfile", "../backend/root.Dockerfile"), [][]string{{"root.Dockerfile", `effective USER is "root"`}}},
		{"no USER", build("dockerfile", "../backend/nouser.Dockerfile"), [][]string{{"no USER instruction"}}},
		{"dockerfile is not relative to context", build("dockerfile", "Dockerfile"), [][]string{{"cannot read Dockerfile", filepath.Join(dir, "infra", "Dockerfile")}}},
		{"unknown context", build("context", computed), nil},
		{"unknown build arg", build("args", map[string]any{"UID": computed}), nil},
		{"not built here", map[string]any{"imageName": "postgres:15"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := resource(t, restype.DockerImage, "backend-image", tt.props)
			assertMessages(t, ImagesRunAsNonRoot(r, c), tt.want)
		})
	}
	remote := []struct {
		name, typ string
		props     map[string]any
		want      [][]string
	}{
		{"RemoteImage pulled", restype.DockerRemoteImage, map[string]any{"name": "postgres:15-bookworm"}, nil},
		{"RemoteImage built, dockerfile inside the context", restype.DockerRemoteImage,
			map[string]any{"name": "x", "build": map[string]any{"context": "../backend", "dockerfile": "root.Dockerfile"}},
			[][]string{{filepath.Join(dir, "backend", "root.Dockerfile"), `effective USER is "root"`}}},
		{"RegistryImage built with buildArgs", restype.DockerRegistryImage,
			map[string]any{"name": "x", "build": map[string]any{"context": "../backend", "buildArgs": map[string]any{"UID": "0"}}},
			[][]string{{`effective USER is "0:0"`}}},
		{"RemoteImage built non-root", restype.DockerRemoteImage,
			map[string]any{"name": "x", "build": map[string]any{"context": filepath.Join(dir, "backend")}}, nil},
	}
	for _, tt := range remote {
		t.Run(tt.name, func(t *testing.T) {
			assertMessages(t, ImagesRunAsNonRoot(resource(t, tt.typ, "img", tt.props), c), tt.want)
		})
	}
}
