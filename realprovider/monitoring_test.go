package realprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/monitoring"
	"github.com/helloagents/infra/stacks/config"
)

// The dev stack's monitoring, where the README says it is.
const (
	prometheusURL   = "http://127.0.0.1:9090"
	alertmanagerURL = "http://127.0.0.1:9093"
)

// graphs checks what `make up` promises about monitoring: Prometheus on
// 127.0.0.1:9090 scrapes every target of the region and nothing else (the
// backend replicas found by Docker DNS, as many as the dev stack file
// runs, the proxy's exporter, the Postgres exporter, Alertmanager and
// itself), all of them up, and has loaded the SLO rules; Alertmanager
// answers on 127.0.0.1:9093.
func (d *devStack) graphs(t *testing.T) {
	began := time.Now()
	d.awaitTargets(t, d.wantTargets(t))
	d.record("every target up in Prometheus after `make up`", "%s", time.Since(began).Round(time.Second))

	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name string `json:"name"`
					Type string `json:"type"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := getJSON(prometheusURL+"/api/v1/rules", &rules); err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			if r.Type == "alerting" {
				alerts = append(alerts, r.Name)
			}
		}
	}
	if !slices.Contains(alerts, "HelloAgentsErrorBudgetBurnFast") {
		t.Errorf("Prometheus's alerting rules = %v, want the SLO rules (HelloAgentsErrorBudgetBurnFast)", alerts)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, alertmanagerURL+"/-/ready", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("Alertmanager %s/-/ready: %s", alertmanagerURL, resp.Status)
	}
}

// wantTargets are the scrape targets per job the dev stack file gives its
// region: every replica of the backend, and one of each other job.
func (d *devStack) wantTargets(t *testing.T) map[string]int {
	t.Helper()
	raw, err := config.ReadStackFile(filepath.Join(d.dir, "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("dev", raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Regions) != 1 {
		t.Fatalf("dev has %d regions; the suite reads one Prometheus", len(cfg.Regions))
	}
	return map[string]int{
		monitoring.JobBackend: cfg.Regions[0].Replicas, monitoring.JobProxy: 1, monitoring.JobPostgres: 1,
		monitoring.JobAlertmanager: 1, monitoring.JobPrometheus: 1,
	}
}

// awaitTargets waits (2 minutes at most) until Prometheus's active targets
// are exactly want: the jobs, and per job that many targets, every one up.
func (d *devStack) awaitTargets(t *testing.T, want map[string]int) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		if last = targetsUp(want); last == nil {
			return
		}
	}
	t.Fatalf("Prometheus at %s: %v", prometheusURL, last)
}

// targetsUp compares Prometheus's active targets with want, the number of
// targets per job, all of which must be up (as /targets shows them).
func targetsUp(want map[string]int) error {
	var res struct {
		Data struct {
			ActiveTargets []struct {
				Labels    map[string]string `json:"labels"`
				ScrapeURL string            `json:"scrapeUrl"`
				Health    string            `json:"health"`
				LastError string            `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := getJSON(prometheusURL+"/api/v1/targets?state=active", &res); err != nil {
		return err
	}
	got := map[string]int{}
	var notUp []string
	for _, tg := range res.Data.ActiveTargets {
		got[tg.Labels["job"]]++
		if tg.Health != "up" {
			notUp = append(notUp, fmt.Sprintf("%s %s %s (%s)", tg.Labels["job"], tg.ScrapeURL, tg.Health, tg.LastError))
		}
	}
	if !maps.Equal(got, want) || len(notUp) > 0 {
		return fmt.Errorf("targets by job = %v, want %v; not up: [%s]", got, want, strings.Join(notUp, "; "))
	}
	return nil
}

func getJSON(u string, v any) error {
	c := &http.Client{Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
