package main

import (
	"context"
	"time"
)

// healthRefreshInterval is how often a replica with metrics runs its full
// health checks by itself. helloagents_health_component_status holds the
// last report computed; without this, nothing but a client's GET /health
// (the proxy probes /health/ready, which checks only the database) would
// update the backups and dependency components, and an alert on them would
// read a status of any age. Prometheus's default scrape interval, so each
// scrape sees a report at most this old. Not at scrape time: with the
// database down, checks that wait out their timeout would make the scrape
// itself time out and hide the request metrics the alerts need most then.
const healthRefreshInterval = 15 * time.Second

// refreshHealth runs full now and then every interval until ctx ends.
func refreshHealth(ctx context.Context, interval time.Duration, full func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		full(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
