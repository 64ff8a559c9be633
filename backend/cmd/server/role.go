package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/helloagents/infra/backend/redact"
	"github.com/helloagents/infra/backend/standby"
	"github.com/helloagents/infra/backend/store"
)

// recoveryProber asks the database whether it is a standby.
type recoveryProber interface {
	InRecovery(ctx context.Context) (bool, error)
}

// roleCache answers "is the database a read-only standby?" from a probe at
// most ttl old, so every write request does not cost a query, and a
// promoted standby accepts writes within ttl. An unreachable database is
// not called read-only: the write then fails on its own, with its own error.
type roleCache struct {
	probe recoveryProber
	ttl   time.Duration
	now   func() time.Time

	mu       sync.Mutex
	readOnly bool
	checked  time.Time
}

func newRoleCache(p recoveryProber, ttl time.Duration) *roleCache {
	return &roleCache{probe: p, ttl: ttl, now: time.Now}
}

// ReadOnly reports the cached role, probing when the cache is stale.
func (c *roleCache) ReadOnly(ctx context.Context) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.checked.IsZero() || now.Sub(c.checked) >= c.ttl {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		in, err := c.probe.InRecovery(pctx)
		cancel()
		if err != nil {
			return c.readOnly // keep the last known role; try again next time
		}
		c.readOnly, c.checked = in, now
	}
	return c.readOnly
}

// heartbeat commits the replication heartbeat every standby.HeartbeatInterval
// while the database is the primary (after the migration made its table),
// so standbys can tell replay lag from a quiet primary. Failures are
// logged at debug level: the database check reports outages.
func heartbeat(ctx context.Context, log *slog.Logger, st *store.Store, roles *roleCache, migrated <-chan struct{}) {
	select {
	case <-ctx.Done():
		return
	case <-migrated:
	}
	t := time.NewTicker(standby.HeartbeatInterval)
	defer t.Stop()
	for {
		if !roles.ReadOnly(ctx) {
			bctx, cancel := context.WithTimeout(ctx, standby.HeartbeatInterval)
			if err := st.Beat(bctx); err != nil {
				log.Debug("replication heartbeat failed", "error", redact.Text(err.Error()))
			}
			cancel()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
