package main

import (
	"regexp"
	"time"

	"github.com/helloagents/infra/backend/health"
)

// databaseRole reads the role from /health's database component: a
// standby answers "standby", a primary that accepts writes "healthy".
func databaseRole(c map[string]health.Result) string {
	d, ok := c["database"]
	switch {
	case !ok:
		return "unknown"
	case d.Status == health.Standby:
		return "standby"
	case d.Status == health.Healthy:
		return "primary"
	}
	return "unknown (" + string(d.Status) + ")"
}

// fullBackup matches the backups component's message
// (backend/health/backups.go): "...; last full backup 3h0m0s ago".
var fullBackup = regexp.MustCompile(`last full backup (\S+) ago`)

// lastBackupAge reads the age of the newest full backup from /health's
// backups component. ok is false when the component is absent, backups
// are disabled or none is recorded yet.
func lastBackupAge(c map[string]health.Result) (time.Duration, bool) {
	b, present := c["backups"]
	if !present {
		return 0, false
	}
	m := fullBackup.FindStringSubmatch(b.Message)
	if m == nil {
		return 0, false
	}
	d, err := time.ParseDuration(m[1])
	return d, err == nil
}
