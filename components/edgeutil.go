package components

import (
	"strconv"
	"strings"
	"time"
)

// seconds rounds d to whole seconds, Cloudflare's unit.
func seconds(d time.Duration) int { return int(d.Round(time.Second) / time.Second) }

// codes renders the expected status codes as Cloudflare's health checks want
// them: one string per code.
func codes(hc HealthCheck) []string {
	out := make([]string, len(hc.ExpectedCodes))
	for i, c := range hc.ExpectedCodes {
		out[i] = strconv.Itoa(c)
	}
	return out
}

// sanitize turns a hostname into a Cloudflare object name.
func sanitize(host string) string { return strings.ReplaceAll(host, ".", "-") }
