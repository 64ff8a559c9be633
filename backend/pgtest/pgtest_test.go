package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestStopRestart(t *testing.T) {
	s := Start(t)
	url := s.CreateDB(t, "pgtest_check")
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		var one int
		return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
	}
	if err := ping(); err != nil {
		t.Fatalf("fresh server: %v", err)
	}
	s.Stop(t)
	if err := ping(); err == nil {
		t.Fatal("stopped server still answers")
	}
	s.Restart(t)
	if err := ping(); err != nil {
		t.Fatalf("restarted server: %v", err)
	}
}
