// Command rate is an open-loop load generator: it sends requests at a fixed
// rate for a fixed duration, whether or not earlier ones have answered, and
// measures each latency from the moment the request was due (so a stalled
// server cannot hide its queueing, the "coordinated omission" wrk has).
// Debian has wrk but not wrk2, which would do this.
//
//	rate -url http://127.0.0.1:18080/health/ready -rate 500 -duration 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "URL to GET (required)")
	rate := flag.Int("rate", 500, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	timeout := flag.Duration("timeout", 5*time.Second, "per-request timeout")
	flag.Parse()
	if *url == "" || *rate < 1 || *duration <= 0 {
		fmt.Fprintln(os.Stderr, "usage: rate -url URL [-rate N>0] [-duration D>0] [-timeout D]")
		os.Exit(2)
	}
	res := load(*url, *rate, *duration, *timeout)
	fmt.Println(res)
	if res.errors > 0 || res.non2xx > 0 {
		os.Exit(1)
	}
}

type result struct {
	sent, errors, non2xx int
	elapsed              time.Duration
	lat                  []time.Duration
}

func (r result) String() string {
	p := func(q float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[min(len(r.lat)-1, int(q*float64(len(r.lat))))]
	}
	return fmt.Sprintf("requests=%d rate=%.1f/s errors=%d non2xx=%d p50=%s p90=%s p99=%s max=%s",
		r.sent, float64(r.sent)/r.elapsed.Seconds(), r.errors, r.non2xx,
		p(0.50).Round(time.Microsecond), p(0.90).Round(time.Microsecond),
		p(0.99).Round(time.Microsecond), p(1).Round(time.Microsecond))
}

func load(url string, rate int, duration, timeout time.Duration) result {
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute,
	}}
	interval := time.Second / time.Duration(rate)
	n := int(duration / interval)
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		res = result{lat: make([]time.Duration, 0, n)}
	)
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Go(func() {
			status, err := get(client, url, timeout)
			lat := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			res.add(status, err, lat)
		})
	}
	// The achieved send rate: the time spent issuing, not waiting for the tail.
	res.elapsed = time.Since(start) + interval
	wg.Wait()
	slices.Sort(res.lat)
	return res
}

// get fetches url, reading the whole body, and returns the status code.
func get(client *http.Client, url string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// add counts one answer; only 2xx answers have their latency kept.
func (r *result) add(status int, err error, lat time.Duration) {
	r.sent++
	switch {
	case err != nil:
		r.errors++
	case status < 200 || status > 299:
		r.non2xx++
	default:
		r.lat = append(r.lat, lat)
	}
}
