package drain

import (
	"strings"
	"testing"
	"time"
)

func TestReaders(t *testing.T) {
	tests := []struct {
		name    string
		read    func(func(string) string) (time.Duration, error)
		env     map[string]string
		want    time.Duration
		wantErr string
	}{
		{"server defaults", Server, nil, ServerDelay + ServerTimeout, ""},
		{"server set", Server, map[string]string{EnvServerDelay: "2s", EnvServerTimeout: "1m"}, 62 * time.Second, ""},
		{"server no delay", Server, map[string]string{EnvServerDelay: "0s"}, ServerTimeout, ""},
		{"server bad delay", Server, map[string]string{EnvServerDelay: "soon"}, 0, `SHUTDOWN_DELAY="soon": want a non-negative duration such as "5s"`},
		{"server negative timeout", Server, map[string]string{EnvServerTimeout: "-1s"}, 0, `SHUTDOWN_TIMEOUT="-1s"`},
		{"proxy default", Proxy, nil, ProxyHardStop, ""},
		{"proxy set", Proxy, map[string]string{EnvProxyHardStop: "20s"}, 20 * time.Second, ""},
		{"proxy bad", Proxy, map[string]string{EnvProxyHardStop: "20"}, 0, `PROXY_HARD_STOP_AFTER="20"`},
		{"tunnel default", Tunnel, nil, TunnelGrace, ""},
		{"tunnel set", Tunnel, map[string]string{EnvTunnelGrace: "45s"}, 45 * time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.read(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("= %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		8 * time.Second: "8s", time.Minute: "60s", 1500 * time.Millisecond: "1.5s", 0: "0s",
	} {
		if got := Format(d); got != want {
			t.Errorf("Format(%s) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(Format(d)); err != nil || back != d {
			t.Errorf("Format(%s) does not parse back: %s, %v", d, back, err)
		}
	}
}
