package config

import (
	"os"
	"path/filepath"

	"github.com/helloagents/infra/backend/server"
	"github.com/helloagents/infra/healthcheck"
)

// LocalDockerHost is the local engine's socket, the dev region's host.
const LocalDockerHost = "unix:///var/run/docker.sock"

// Defaults returns the configuration an environment starts from before the
// stack file's values are laid over it. Only what differs per stack belongs
// in Pulumi.<stack>.yaml.
func Defaults(stack string, env Environment) Config {
	c := Config{Stack: stack, Environment: env, HealthCheck: healthcheck.Default()}
	for _, s := range c.sections() {
		if s.init != nil {
			s.init()
		}
	}
	switch env {
	case Dev:
		c.devDefaults()
	case Staging:
		c.Backend.AppVersion = "staging"
	case Production:
		c.productionDefaults()
	}
	return c
}

func defaultBackend() Backend {
	return Backend{
		Port:                   server.DefaultPort,
		HostPort:               server.DefaultPort,
		User:                   "65532:65532",
		MemoryMB:               512,
		CPUs:                   1,
		MaxRestarts:            5,
		Repository:             "helloagents-backend",
		BuildHost:              LocalDockerHost,
		AppVersion:             "dev",
		SentryTracesSampleRate: 0.1,
		HealthcheckCommand:     []string{"CMD", "/server", server.CmdHealthcheck},
	}
}

func defaultDatabase() Database {
	return Database{
		Name:     "helloagents",
		User:     "helloagents",
		RunAs:    "999:999", // postgres in backend/postgres.Dockerfile
		MemoryMB: 1024,
		// WAL archiving: RPO 60 s; weekly full and daily differential
		// backups, two full backups kept (two to three weeks back).
		Archiving:      true,
		ArchiveTimeout: "60s",
		RetentionFull:  2,
		FullSchedule:   "0 2 * * 0",
		DiffSchedule:   "0 2 * * 1-6",
	}
}

func defaultBackup(stack string) Backup {
	return Backup{
		Schedule:      "0 3 * * *",
		RetentionDays: 14,
		KeepLast:      7,
		Bucket:        "helloagents-backups-" + stack,
		Prefix:        stack,
		RunAs:         "65532:65532",
	}
}

func defaultFrontend(stack string) Frontend {
	return Frontend{
		ProjectName:      "helloagents-" + stack,
		ProductionBranch: "main",
		RootDir:          "frontend",
		BuildCommand:     "npm ci && npm run build",
		OutputDir:        "dist",
		APIURLVariable:   "VITE_API_URL",
		LocalURL:         "http://localhost:5173",
	}
}

func defaultEdge() Edge {
	return Edge{
		ManageZoneSettings: true,
		MinTLSVersion:      "1.2",
		HSTSMaxAgeSeconds:  31536000,
		TunnelImage:        "cloudflare/cloudflared:2024.12.2",
		CheckRegions:       []string{"WEU", "ENAM"},
	}
}

// devDefaults sizes dev for one laptop: one local region, small containers,
// frequent short-lived backups, no zone settings to manage.
func (c *Config) devDefaults() {
	c.Regions = []Region{{Name: "local", DockerHost: LocalDockerHost, Replicas: 1}}
	c.Backend.MemoryMB = 256
	c.Database.MemoryMB = 512
	c.Backup.Schedule = "@hourly"
	c.Backup.RetentionDays = 3
	c.Backup.KeepLast = 3
	c.Database.RetentionFull = 1
	c.Database.FullSchedule = "@daily"
	c.Database.DiffSchedule = "@hourly"
	c.Edge.ManageZoneSettings = false
}

// productionDefaults keeps backups longer (a month of dumps, four weeks of
// full backups) and defaults no app version.
func (c *Config) productionDefaults() {
	c.Backend.AppVersion = ""
	c.Backup.RetentionDays = 30
	c.Backup.KeepLast = 14
	c.Database.RetentionFull = 4 // four weeks back
}

// defaultReplicas is the replica count of a region that does not set one:
// production runs two so one can restart while the other serves.
func defaultReplicas(env Environment) int {
	if env.Redundant() {
		return 2
	}
	return 1
}

// BackendContext returns the Docker build context of both backend images:
// the sibling module backend/ beside Pulumi.yaml. Pulumi runs the program
// with the project directory (where Pulumi.yaml lives) as its working
// directory, and `go test` runs the stacks tests in stacks/, so the directory
// is found by walking up from the working directory to the first one holding
// Pulumi.yaml. The policy pack resolves Dockerfiles the same way:
// filepath.Join(BackendContext(), BackendDockerfile) is what docker.Image gets.
func BackendContext() string {
	wd, err := os.Getwd()
	if err != nil {
		return "backend"
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return filepath.Join(dir, "backend")
		}
		if filepath.Dir(dir) == dir {
			return filepath.Join(wd, "backend")
		}
	}
}

// Dockerfiles of the images, relative to BackendContext().
const (
	BackendDockerfile  = "Dockerfile"
	BackupDockerfile   = "pgbackup.Dockerfile"
	ProxyDockerfile    = "proxy.Dockerfile"
	PostgresDockerfile = "postgres.Dockerfile"
)
