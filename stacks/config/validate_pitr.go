package config

import (
	"time"

	"github.com/robfig/cron/v3"
)

// validateArchiving checks the WAL-archiving settings of helloagents:database:
// on in staging and production (the RPO promise), an archive timeout
// between 10 s and 1 h, at least one full backup kept, valid schedules.
func (c Config) validateArchiving(p *problems) {
	k := full(KeyDatabase)
	d := c.Database
	if !d.Archiving && c.Environment.BehindCloudflare() {
		p.bad(k+".archiving", d.Archiving, "true outside dev: staging and production archive every WAL segment (point-in-time recovery)")
	}
	if t, err := time.ParseDuration(d.ArchiveTimeout); err != nil || t < 10*time.Second || t > time.Hour || t%time.Second != 0 {
		p.bad(k+".archiveTimeout", d.ArchiveTimeout, `whole seconds between "10s" and "1h" (the RPO; default "60s")`)
	}
	if d.RetentionFull < 1 || d.RetentionFull > 52 {
		p.bad(k+".retentionFull", d.RetentionFull, "1..52 full backups")
	}
	for _, f := range []struct{ field, spec string }{{"fullSchedule", d.FullSchedule}, {"diffSchedule", d.DiffSchedule}} {
		if _, err := cron.ParseStandard(f.spec); err != nil {
			p.bad(k+"."+f.field, f.spec, "a 5-field cron expression (minute hour day month weekday) or @hourly/@daily/@weekly")
		}
	}
}

// ArchiveTimeoutDuration is database.archiveTimeout as a duration (validated).
func (d Database) ArchiveTimeoutDuration() time.Duration {
	t, _ := time.ParseDuration(d.ArchiveTimeout)
	return t
}
