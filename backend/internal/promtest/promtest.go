// Package promtest reads what a Prometheus exporter serves, for the tests
// of the images and configurations that expose metrics (the proxy's
// exporter, the Postgres exporter, Prometheus and Alertmanager themselves).
package promtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Samples maps a series, written as Key writes it, to its value.
type Samples map[string]float64

// Key names a series: name{k1="v1",k2="v2"} with the labels sorted by
// name; labels are name, value pairs.
func Key(name string, labels ...string) string {
	if len(labels)%2 != 0 {
		panic("promtest.Key: labels must be name, value pairs")
	}
	pairs := make([]string, 0, len(labels)/2)
	for i := 0; i < len(labels); i += 2 {
		pairs = append(pairs, labels[i]+"="+strconv.Quote(labels[i+1]))
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// Names lists the metric names that have at least one series.
func (s Samples) Names() []string {
	var names []string
	for k := range s {
		name, _, _ := strings.Cut(k, "{")
		names = append(names, name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Scrape GETs url and parses the text exposition format: counters, gauges
// and untyped samples (histograms and summaries are left out).
func Scrape(ctx context.Context, url string) (Samples, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("scrape %s: %s: %s", url, resp.Status, b)
	}
	return Parse(resp.Body)
}

// Parse reads the text exposition format (see Scrape).
func Parse(r io.Reader) (Samples, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	out := Samples{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var v float64
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				v = m.GetUntyped().GetValue()
			default:
				continue
			}
			labels := make([]string, 0, 2*len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName(), l.GetValue())
			}
			out[Key(name, labels...)] = v
		}
	}
	return out, nil
}
