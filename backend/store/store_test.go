package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/pgtest"
)

func TestOpenRejectsBadURLWithoutEchoingIt(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:hunter2@host:badport/db", Options{})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v", err)
	}
}

func TestMigrateAndCourses(t *testing.T) {
	srv := pgtest.Start(t)
	url := srv.CreateDB(t, "store")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	if ready, err := s.SchemaReady(ctx); err != nil || ready {
		t.Errorf("SchemaReady before the migration = %t, %v; want false", ready, err)
	}
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(applied, " ") != "0001_courses 0002_replication_heartbeat" {
		t.Errorf("applied = %v", applied)
	}
	if ready, err := s.SchemaReady(ctx); err != nil || !ready {
		t.Errorf("SchemaReady after the migration = %t, %v; want true", ready, err)
	}
	if err := s.Beat(ctx); err != nil {
		t.Errorf("heartbeat on a primary: %v", err)
	}
	if st, err := s.Replication(ctx); err != nil || st.InRecovery || st.Role != "primary" || st.Timeline != 1 {
		t.Errorf("Replication = %+v, %v; want a primary on timeline 1", st, err)
	}
	// Idempotent: a second start (or another replica) applies nothing.
	if again, err := s.Migrate(ctx); err != nil || len(again) != 0 {
		t.Errorf("second migrate: %v, %v", again, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	courses, err := s.Courses(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(courses) != 2 || courses[0].Slug != "agent-foundations" || courses[0].CreatedAt.IsZero() {
		t.Errorf("courses = %+v", courses)
	}
}

func TestConcurrentMigrations(t *testing.T) {
	srv := pgtest.Start(t)
	url := srv.CreateDB(t, "replicas")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := make(chan error, 3)
	total := make(chan int, 3)
	for range 3 {
		go func() {
			s, err := Open(ctx, url, Options{})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			applied, err := s.Migrate(ctx)
			total <- len(applied)
			errs <- err
		}()
	}
	n := 0
	for range 3 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	close(total)
	for k := range total {
		n += k
	}
	if n != 2 {
		t.Errorf("migrations applied %d times across replicas, want each of the 2 once", n)
	}
}
