package pgharness

import (
	"net"
	"strconv"
	"testing"
	"time"
)

// TestStart checks the server listens on its loopback port. (Queries are the
// business of the code under test, which brings its own client.)
func TestStart(t *testing.T) {
	s := Start(t)
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(t.Context(), "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)))
	if err != nil {
		t.Fatalf("server on port %d not listening: %v", s.Port, err)
	}
	c.Close()
	if got := s.URL("app"); got != "postgres://postgres@127.0.0.1:"+strconv.Itoa(s.Port)+"/app?sslmode=disable" {
		t.Errorf("URL = %q", got)
	}
}
