package store

import (
	"context"
	"testing"

	"github.com/helloagents/infra/backend/pgtest"
)

// BenchmarkPing is the database part of /health/ready.
func BenchmarkPing(b *testing.B) {
	srv := pgtest.Start(b)
	s, err := Open(context.Background(), srv.URL("postgres"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Ping(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
