package store

import (
	"context"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/pgtest"
)

func TestPendingSegments(t *testing.T) {
	for _, tc := range []struct {
		last, cur string
		want      int64
	}{
		{"000000010000000000000005", "000000010000000000000006", 0},
		{"000000010000000000000005", "000000010000000000000009", 3},
		{"0000000100000000000000FF", "000000010000000100000001", 1},
		{"000000010000000000000005.00000028.backup", "000000010000000000000007", 1},
		{"", "000000010000000000000009", 0},
		{"000000010000000000000005", "000000020000000000000009", 0},
		{"00000002.history", "000000020000000000000009", 0},
	} {
		if got := pendingSegments(tc.last, tc.cur); got != tc.want {
			t.Errorf("pendingSegments(%s, %s) = %d, want %d", tc.last, tc.cur, got, tc.want)
		}
	}
}

// A server without archiving reports it disabled, with no error.
func TestArchiveStatsDisabled(t *testing.T) {
	pg := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, pg.URL("postgres"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.ArchiveStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Enabled || !st.LastFullBackupAt.IsZero() || st.PendingSegments != 0 {
		t.Errorf("stats of a server without archiving: %+v", st)
	}
}
