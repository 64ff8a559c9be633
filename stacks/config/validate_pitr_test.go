package config

import (
	"maps"
	"strings"
	"testing"
	"time"
)

func TestArchivingDefaults(t *testing.T) {
	for _, tc := range []struct {
		stack     string
		retention int
		full      string
	}{
		{"dev", 1, "@daily"},
		{"staging", 2, "0 2 * * 0"},
		{"production", 4, "0 2 * * 0"},
	} {
		c, err := Parse(tc.stack, stackRaw(t, tc.stack))
		if err != nil {
			t.Fatal(err)
		}
		d := c.Database
		if !d.Archiving || d.ArchiveTimeoutDuration() != 60*time.Second || d.RetentionFull != tc.retention || d.FullSchedule != tc.full {
			t.Errorf("%s: %+v", tc.stack, d)
		}
	}
}

func TestArchivingValidation(t *testing.T) {
	for _, tc := range []struct {
		name, stack, database, want string
	}{
		{"off in production", "production", `{"archiving":false}`, `helloagents:database.archiving: invalid value false`},
		{"off in staging", "staging", `{"archiving":false}`, `helloagents:database.archiving: invalid value false`},
		{"timeout too short", "dev", `{"archiveTimeout":"5s"}`, `helloagents:database.archiveTimeout: invalid value "5s"`},
		{"timeout not a duration", "dev", `{"archiveTimeout":"60"}`, `helloagents:database.archiveTimeout: invalid value "60"`},
		{"fractional timeout", "dev", `{"archiveTimeout":"10.5s"}`, `helloagents:database.archiveTimeout`},
		{"no full kept", "dev", `{"retentionFull":0}`, `helloagents:database.retentionFull: invalid value 0`},
		{"bad full schedule", "dev", `{"fullSchedule":"weekly"}`, `helloagents:database.fullSchedule: invalid value "weekly"`},
		{"bad diff schedule", "dev", `{"diffSchedule":"* *"}`, `helloagents:database.diffSchedule: invalid value "* *"`},
		{"unknown field", "dev", `{"archiveTimout":"60s"}`, `archiveTimout`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := stackRaw(t, tc.stack)
			raw = maps.Clone(raw)
			raw["helloagents:database"] = tc.database
			_, err := Parse(tc.stack, raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error %v, want %q", err, tc.want)
			}
		})
	}
	raw := maps.Clone(stackRaw(t, "dev"))
	raw["helloagents:database"] = `{"archiving":false,"archiveTimeout":"10s"}`
	if _, err := Parse("dev", raw); err != nil {
		t.Errorf("dev may turn archiving off: %v", err)
	}
}
