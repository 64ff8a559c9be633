package dashboard

import (
	"fmt"
	"strconv"
	"strings"
)

// Metric names the dashboard reads. The backend's are fixed in
// DESIGN-20 (backend/metrics), the Postgres exporter's come from the
// pgexporter image's queries file, and HAProxy's are those of the
// built-in prometheus-exporter of HAProxy 2.6 (the proxy image's).
const (
	metricRequests      = "helloagents_http_requests_total"
	metricDurationBkt   = "helloagents_http_request_duration_seconds_bucket"
	metricInFlight      = "helloagents_http_requests_in_flight"
	metricBuildInfo     = "helloagents_build_info"
	metricComponent     = "helloagents_health_component_status"
	metricPoolAcquired  = "helloagents_db_pool_acquired_conns"
	metricPoolIdle      = "helloagents_db_pool_idle_conns"
	metricPoolMax       = "helloagents_db_pool_max_conns"
	metricPoolAcquires  = "helloagents_db_pool_acquires_total"
	metricPoolAcquireS  = "helloagents_db_pool_acquire_duration_seconds_total"
	metricPoolEmpty     = "helloagents_db_pool_empty_acquires_total"
	metricStandbyLag    = "helloagents_pg_standby_replay_lag_seconds"
	metricWALArchiveAge = "helloagents_pg_wal_archive_age_seconds"
	metricHAResponses   = "haproxy_server_http_responses_total"
	metricHAStatus      = "haproxy_server_status"
	metricHARetries     = "haproxy_server_retry_warnings_total"
	metricHARedispatch  = "haproxy_server_redispatch_warnings_total"
	metricHAQueueTime   = "haproxy_server_queue_time_average_seconds"
)

// ProxyBackend is the name of the HAProxy backend section that holds the
// replicas (backend/proxy/haproxy.cfg): the exporter's proxy label.
const ProxyBackend = "replicas"

// Template variables every query filters on. The stack and region labels
// are the Prometheus external labels: they are on the series in a
// long-term store that every region remote-writes to, not in a region's
// own Prometheus, so the variables match with regular expressions whose
// "All" value (.*) also matches a series without the label.
const (
	varDatasource = "datasource"
	varStack      = "stack"
	varRegion     = "region"
)

// sel is a selector of metric filtered on the stack and region variables
// and on extra matchers (`code="5xx"`).
func sel(metric string, extra ...string) string {
	m := append([]string{varStack + `=~"$` + varStack + `"`, varRegion + `=~"$` + varRegion + `"`}, extra...)
	return metric + "{" + strings.Join(m, ",") + "}"
}

const fiveXX = `status_class="5xx"`

// quantile is the q-quantile of the request durations over window, by the
// given labels (none: over every route).
func quantile(q float64, window string, by ...string) string {
	return fmt.Sprintf("histogram_quantile(%s, sum by (%s) (rate(%s[%s])))",
		num(q), strings.Join(append([]string{"le"}, by...), ", "), sel(metricDurationBkt), window)
}

// num prints a float with at most 12 significant digits, so that
// 1 - 0.999 prints as 0.001.
func num(f float64) string { return strconv.FormatFloat(f, 'g', 12, 64) }
