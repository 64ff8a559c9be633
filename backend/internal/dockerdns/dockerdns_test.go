package dockerdns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestDockerDNS checks the stand-in for Docker's embedded DNS with Go's own
// resolver: what is added is answered, what is removed is gone, an empty or
// unknown name is NXDOMAIN.
func TestDockerDNS(t *testing.T) {
	d := Start(t, "backend")
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "udp", d.Addr())
	}}
	lookup := func(name string) ([]string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ips, err := r.LookupNetIP(ctx, "ip4", name)
		var out []string
		for _, ip := range ips {
			out = append(out, ip.String())
		}
		slices.Sort(out)
		return out, err
	}
	tests := []struct {
		name    string
		add     map[string]string
		canary  map[string]string // added under the alias backend-canary
		remove  []string
		query   string
		want    []string
		wantErr bool
	}{
		{name: "no replica yet", query: "backend.", wantErr: true},
		{name: "two replicas", add: map[string]string{"a": "127.0.0.2", "b": "127.0.0.3"}, query: "backend.", want: []string{"127.0.0.2", "127.0.0.3"}},
		{name: "case-insensitive", query: "BACKEND.", want: []string{"127.0.0.2", "127.0.0.3"}},
		{name: "a third", add: map[string]string{"c": "127.0.0.4"}, query: "backend.", want: []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}},
		{name: "one removed", remove: []string{"a"}, query: "backend.", want: []string{"127.0.0.3", "127.0.0.4"}},
		{name: "other name", query: "postgres.", wantErr: true},
		{name: "no canary yet", query: "backend-canary.", wantErr: true},
		{name: "a canary beside", canary: map[string]string{"k": "127.0.0.9"}, query: "backend-canary.", want: []string{"127.0.0.9"}},
		{name: "the canary is not a replica", query: "backend.", want: []string{"127.0.0.3", "127.0.0.4"}},
		{name: "canary removed", remove: []string{"k"}, query: "backend-canary.", wantErr: true},
		{name: "all removed", remove: []string{"b", "c"}, query: "backend.", wantErr: true},
	}
	// The steps build on each other: they run in order, as one sequence.
	for _, tt := range tests {
		for name, ip := range tt.add {
			d.Add(name, netip.MustParseAddr(ip))
		}
		for name, ip := range tt.canary {
			d.AddAlias("backend-canary", name, netip.MustParseAddr(ip))
		}
		for _, name := range tt.remove {
			d.Remove(name)
		}
		got, err := lookup(tt.query)
		if tt.wantErr {
			var dnsErr *net.DNSError
			if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
				t.Errorf("%s: lookup %s = %v, %v; want not found", tt.name, tt.query, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: lookup %s = %v, %v; want %v", tt.name, tt.query, got, err, tt.want)
		}
	}
}
