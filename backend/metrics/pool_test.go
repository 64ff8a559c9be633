package metrics

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/store"
)

// pool are the pool metrics' values, by name: seven ints in a row were
// easy to pass in the wrong order.
type pool struct {
	acquired, idle, total, maxConns, acquires, empty, canceled int
}

// poolWant is the exposition of the pool metrics with the values of p.
func poolWant(p pool) string {
	return fmt.Sprintf(`
# HELP helloagents_db_pool_acquired_conns Connections of the database pool in use.
# TYPE helloagents_db_pool_acquired_conns gauge
helloagents_db_pool_acquired_conns %d
# HELP helloagents_db_pool_idle_conns Idle connections of the database pool.
# TYPE helloagents_db_pool_idle_conns gauge
helloagents_db_pool_idle_conns %d
# HELP helloagents_db_pool_total_conns Connections of the database pool (in use, idle and being opened).
# TYPE helloagents_db_pool_total_conns gauge
helloagents_db_pool_total_conns %d
# HELP helloagents_db_pool_max_conns Most connections the database pool opens.
# TYPE helloagents_db_pool_max_conns gauge
helloagents_db_pool_max_conns %d
# HELP helloagents_db_pool_acquires_total Connections acquired from the database pool.
# TYPE helloagents_db_pool_acquires_total counter
helloagents_db_pool_acquires_total %d
# HELP helloagents_db_pool_empty_acquires_total Acquires that found no idle connection and had to wait for one (a new or a released one).
# TYPE helloagents_db_pool_empty_acquires_total counter
helloagents_db_pool_empty_acquires_total %d
# HELP helloagents_db_pool_canceled_acquires_total Acquires whose context ended before they got a connection.
# TYPE helloagents_db_pool_canceled_acquires_total counter
helloagents_db_pool_canceled_acquires_total %d
`, p.acquired, p.idle, p.total, p.maxConns, p.acquires, p.empty, p.canceled)
}

// poolNames are the pool metrics compared exactly (the acquire duration
// varies and is checked apart).
func poolNames() []string {
	var out []string
	for _, n := range []string{"acquired_conns", "idle_conns", "total_conns", "max_conns", "acquires_total", "empty_acquires_total", "canceled_acquires_total"} {
		out = append(out, "helloagents_db_pool_"+n)
	}
	return out
}

// lazyPool is a pool that never connects (nothing listens on port 1; no
// test acquires from it).
func lazyPool(t *testing.T, maxConns int32) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig("postgres://u@127.0.0.1:1/db?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestPoolCollectorLazyPool needs no database: a pool that has not
// connected yet reports its bound and nothing else.
func TestPoolCollectorLazyPool(t *testing.T) {
	_, reg := newMetrics(t, Options{PoolStat: lazyPool(t, 3).Stat})
	if err := testutil.GatherAndCompare(reg, strings.NewReader(poolWant(pool{maxConns: 3})), poolNames()...); err != nil {
		t.Error(err)
	}
}

// TestPoolCollectorLiveStore reads the server's real store at scrape time:
// a held connection is acquired, then idle once released.
func TestPoolCollectorLiveStore(t *testing.T) {
	srv := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, srv.CreateDB(t, "pool"), store.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, reg := newMetrics(t, Options{PoolStat: st.PoolStat})
	if err := st.Ping(ctx); err != nil { // one acquire, which had to open a connection
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(poolWant(pool{idle: 1, total: 1, maxConns: 4, acquires: 1, empty: 1})), poolNames()...); err != nil {
		t.Error(err)
	}
	if err := st.Ping(ctx); err != nil { // reuses the idle connection
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(poolWant(pool{idle: 1, total: 1, maxConns: 4, acquires: 2, empty: 1})), poolNames()...); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "helloagents_db_pool_acquire_duration_seconds_total"); err != nil || n != 1 {
		t.Errorf("acquire duration: %d series, err %v", n, err)
	}
}

// TestPoolCollectorDescribes proves the collector is checked (described)
// and that each scrape reads the pool once.
func TestPoolCollectorDescribes(t *testing.T) {
	pool, reads := lazyPool(t, 2), 0
	c := NewPoolCollector(func() *pgxpool.Stat {
		reads++
		return pool.Stat()
	})
	if n := testutil.CollectAndCount(c); n != 8 {
		t.Errorf("%d metrics, want 8", n)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	reads = 0
	if _, err := reg.Gather(); err != nil || reads != 1 {
		t.Errorf("gather: %d reads, err %v", reads, err)
	}
}
