package verify

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/health"
)

// fake is a stand-in backend that follows the contract unless told to break
// it in one specific way.
type fake struct {
	healthCode   int               // status of /health (default 200)
	healthBody   string            // raw body of /health instead of the contract body
	readyFailFor int32             // /health/ready answers 503 this many times first
	readyHang    bool              // /health/ready never answers (until the client gives up)
	componentBad string            // this component reports unhealthy
	standbyDB    bool              // the database is a standby region's (status "standby", with lag)
	coursesBody  string            // raw body of the courses API
	coursesType  string            // its Content-Type
	coursesDelay time.Duration     // delay of each courses response
	noCORS       bool              // preflight answers without CORS headers
	noSecHeaders bool              // API responses lack the security headers
	extraHeaders map[string]string // added to every response

	readyCalls atomic.Int32
}

// healthDoc renders a body with the backend's own report type, so the
// fake's bodies cannot drift from the real ones.
func healthDoc(status string, comps map[string][2]string) string {
	rep := health.Report{
		Status: health.Status(status), Timestamp: time.Now().UTC().Format(health.TimestampLayout),
		Version: "1.2.3", Components: map[string]health.Result{},
	}
	for k, v := range comps {
		rep.Components[k] = health.Result{Status: health.Status(v[0]), Message: v[1]}
	}
	b, _ := json.Marshal(rep)
	return string(b)
}

func (f *fake) components() (string, map[string][2]string) {
	comps := map[string][2]string{
		"database":     {"healthy", "Database connection successful"},
		"sandbox_pool": {"disabled", "Container pool is not enabled"},
		"ai_service":   {"configured", "AI service API key is configured"},
	}
	status := "healthy"
	if f.standbyDB {
		comps["database"] = [2]string{"standby", "Read-only standby, replaying WAL, lag 2.1s"}
		comps["backups"] = [2]string{"healthy", "Standby: WAL is archived by the primary region; last full backup 5h0m0s ago"}
	}
	if f.componentBad != "" {
		comps[f.componentBad] = [2]string{"unhealthy", "connection refused"}
		status = "unhealthy"
	}
	return status, comps
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if !f.noSecHeaders {
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	}
	for k, v := range f.extraHeaders {
		h.Set(k, v)
	}
	if r.Method == http.MethodOptions {
		if o := r.Header.Get("Origin"); o != "" && !f.noCORS {
			h.Set("Access-Control-Allow-Origin", o)
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	switch r.URL.Path {
	case "/health":
		status, comps := f.components()
		code := 200
		if status != "healthy" {
			code = 503
		}
		if f.healthCode != 0 {
			code = f.healthCode
		}
		body := healthDoc(status, comps)
		if f.healthBody != "" {
			body = f.healthBody
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	case "/health/ready":
		n := f.readyCalls.Add(1)
		if f.readyHang {
			<-r.Context().Done()
			return
		}
		h.Set("Content-Type", "application/json")
		if n <= f.readyFailFor {
			w.WriteHeader(503)
			fmt.Fprint(w, healthDoc("unhealthy", map[string][2]string{"database": {"unhealthy", "not ready"}}))
			return
		}
		fmt.Fprint(w, healthDoc("healthy", map[string][2]string{"database": {"healthy", "ok"}}))
	case "/health/live":
		h.Set("Content-Type", "application/json")
		fmt.Fprint(w, healthDoc("healthy", nil))
	case coursesPath:
		if f.coursesDelay > 0 {
			time.Sleep(f.coursesDelay)
		}
		ct, body := "application/json; charset=utf-8", `{"courses":[{"id":1,"title":"Agents 101"}]}`
		if f.coursesType != "" {
			ct = f.coursesType
		}
		if f.coursesBody != "" {
			body = f.coursesBody
		}
		h.Set("Content-Type", ct)
		fmt.Fprint(w, body)
	default:
		http.NotFound(w, r)
	}
}

// start serves f on loopback for the test's lifetime.
func start(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// frontendServer answers 200 with a page, or code when non-zero.
func frontendServer(t *testing.T, code int) *httptest.Server {
	return start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code != 0 {
			w.WriteHeader(code)
		}
		fmt.Fprint(w, "<!doctype html><title>HelloAgents</title>")
	}))
}
