package realprovider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// The dev stack's monitoring, where the README says it is.
const (
	prometheusURL   = "http://127.0.0.1:9090"
	alertmanagerURL = "http://127.0.0.1:9093"
)

// graphs checks what `make up` promises about monitoring: Prometheus on
// 127.0.0.1:9090 scrapes every target of the region (the backend replica
// found by Docker DNS, the proxy's exporter, the Postgres exporter,
// Alertmanager and itself) and has loaded the SLO rules; Alertmanager
// answers on 127.0.0.1:9093.
func (d *devStack) graphs(t *testing.T) {
	began := time.Now()
	want := map[string]int{"backend": 1, "proxy": 1, "postgres": 1, "alertmanager": 1, "prometheus": 1}
	var last error
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		if last = targetsUp(want); last == nil {
			break
		}
	}
	if last != nil {
		t.Fatalf("Prometheus at %s: %v", prometheusURL, last)
	}
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
	resp, err := http.Get(alertmanagerURL + "/-/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("Alertmanager %s/-/ready: %s", alertmanagerURL, resp.Status)
	}
}

// targetsUp compares the number of healthy targets per job with want.
func targetsUp(want map[string]int) error {
	var res struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	q := url.QueryEscape(`count by (job) (up == 1)`)
	if err := getJSON(prometheusURL+"/api/v1/query?query="+q, &res); err != nil {
		return err
	}
	got := map[string]string{}
	for _, r := range res.Data.Result {
		got[r.Metric["job"]], _ = r.Value[1].(string)
	}
	for job, n := range want {
		if got[job] != fmt.Sprint(n) {
			return fmt.Errorf("targets up by job = %v, want %v", got, want)
		}
	}
	return nil
}

func getJSON(u string, v any) error {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
