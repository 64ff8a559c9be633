package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/helloagents/infra/backend/store"
)

const readOnlyBody = `{"error":"read-only region: this region's database is a standby; writes go to the primary region"}`

// TestReadOnlyRegion: while the database is a standby every request under
// /api/ that may write answers 503 with the read-only message; reads,
// health and paths outside /api/ are served as usual; on a primary the
// same requests reach the routes.
func TestReadOnlyRegion(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		readOnly       bool
		code           int
		body           string
	}{
		{"POST", "/api/v1/courses", true, 503, readOnlyBody},
		{"PUT", "/api/v1/anything", true, 503, readOnlyBody},
		{"DELETE", "/api/v1/courses/1", true, 503, readOnlyBody},
		{"PATCH", "/api/v1/courses", true, 503, readOnlyBody},
		{"GET", "/api/v1/courses", true, 200, `"courses"`},
		{"HEAD", "/api/v1/courses", true, 200, ""},
		{"OPTIONS", "/api/v1/courses", true, 405, ""},
		{"GET", "/health/ready", true, 200, `"healthy"`},
		{"POST", "/health", true, 405, ""},
		{"POST", "/api/v1/courses", false, 405, ""},
	} {
		t.Run(fmt.Sprintf("%s %s read-only=%t", tc.method, tc.target, tc.readOnly), func(t *testing.T) {
			probes := 0
			h, _ := newAPI(t, func(d *Deps) {
				d.ReadOnly = func(context.Context) bool { probes++; return tc.readOnly }
			})
			w := do(h, tc.method, tc.target, nil)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.body) {
				t.Fatalf("got %d %s, want %d %s", w.Code, w.Body, tc.code, tc.body)
			}
			if tc.body == readOnlyBody && strings.TrimSpace(w.Body.String()) != readOnlyBody {
				t.Errorf("body %s, want exactly %s", w.Body, readOnlyBody)
			}
			isWrite := tc.method != http.MethodGet && tc.method != http.MethodHead && tc.method != http.MethodOptions
			if wantProbe := isWrite && strings.HasPrefix(tc.target, "/api/"); (probes > 0) != wantProbe {
				t.Errorf("role probed %d times, want probing %t (only writes under /api/)", probes, wantProbe)
			}
		})
	}
}

// TestReadOnlySQLState: a database error 25006 (read_only_sql_transaction:
// the role changed under a request) answers the same 503 as the middleware;
// any other error keeps its own message.
func TestReadOnlySQLState(t *testing.T) {
	for _, tc := range []struct {
		err  error
		body string
	}{
		{fmt.Errorf("store: query: %w", &pgconn.PgError{Code: "25006", Message: "cannot execute INSERT in a read-only transaction"}), readOnlyBody},
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection"}, "the course catalogue is temporarily unavailable"},
	} {
		h, _ := newAPI(t, func(d *Deps) {
			d.Courses = lister(func(context.Context, int) ([]store.Course, error) { return nil, tc.err })
		})
		w := do(h, "GET", "/api/v1/courses", nil)
		if w.Code != 503 || !strings.Contains(w.Body.String(), tc.body) {
			t.Errorf("error %v: got %d %s, want 503 %s", tc.err, w.Code, w.Body, tc.body)
		}
	}
}
