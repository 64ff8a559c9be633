package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadSendsFixedCount(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%5 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	res := load(srv.URL, 100, 200*time.Millisecond, time.Second)
	if res.sent != 20 || n.Load() != 20 {
		t.Errorf("sent %d, server saw %d, want 20", res.sent, n.Load())
	}
	if res.non2xx != 4 || len(res.lat) != 16 || res.errors != 0 {
		t.Errorf("non2xx=%d ok=%d errors=%d", res.non2xx, len(res.lat), res.errors)
	}
	for i := 1; i < len(res.lat); i++ {
		if res.lat[i] < res.lat[i-1] {
			t.Fatal("latencies not sorted")
		}
	}
	if s := res.String(); !strings.Contains(s, "requests=20") || !strings.Contains(s, "p99=") {
		t.Errorf("summary %q", s)
	}
}

func TestPercentiles(t *testing.T) {
	r := result{sent: 100, elapsed: time.Second}
	for i := 1; i <= 100; i++ {
		r.lat = append(r.lat, time.Duration(i)*time.Millisecond)
	}
	s := r.String()
	for _, want := range []string{"p50=51ms", "p90=91ms", "p99=100ms", "max=100ms", "rate=100.0/s"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q lacks %q", s, want)
		}
	}
}
