package monitoring

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// RuleArgs are the inputs of the rule file.
type RuleArgs struct {
	SLO SLO
	// ScrapeInterval is Prometheus's scrape (and evaluation) interval: every
	// rate window must span at least MinSamplesPerWindow of them.
	ScrapeInterval time.Duration
	// WALArchiveMaxAge is the age of the last archived WAL segment above
	// which HelloAgentsWALArchiveStale fires.
	WALArchiveMaxAge time.Duration
	// StandbyMaxLag is the standby replay lag above which
	// HelloAgentsStandbyLagHigh fires.
	StandbyMaxLag time.Duration
	// BackupMaxAge is how long the backend's `backups` health component may
	// stay `degraded` (WAL archiving failing or behind, full backup missing
	// or overdue: the backend judges the backup's age against its schedule)
	// before HelloAgentsBackupStale fires.
	BackupMaxAge time.Duration
}

// The platform's thresholds of the operational alerts (DefaultRuleArgs).
const (
	// DefaultWALArchiveMaxAge: archive_timeout is 60 s, so a healthy
	// primary's last archived segment is at most a minute or two old.
	DefaultWALArchiveMaxAge = 10 * time.Minute
	// DefaultStandbyMaxLag is the backend's STANDBY_MAX_LAG default, at
	// which the standby's database health component turns degraded.
	DefaultStandbyMaxLag = 3 * time.Minute
	// DefaultBackupMaxAge: a degraded backups component recovers by itself
	// after a transient failure well within half an hour.
	DefaultBackupMaxAge = 30 * time.Minute
)

// DefaultRuleArgs are the rule arguments of slo with the platform's
// thresholds.
func DefaultRuleArgs(slo SLO, scrapeInterval time.Duration) RuleArgs {
	return RuleArgs{
		SLO: slo, ScrapeInterval: scrapeInterval,
		WALArchiveMaxAge: DefaultWALArchiveMaxAge, StandbyMaxLag: DefaultStandbyMaxLag, BackupMaxAge: DefaultBackupMaxAge,
	}
}

// Alert names. docs/MONITORING.md has a section for each (a test checks).
const (
	AlertErrorBudgetBurnFast = "HelloAgentsErrorBudgetBurnFast"
	AlertErrorBudgetBurnSlow = "HelloAgentsErrorBudgetBurnSlow"
	AlertErrorRatioHigh      = "HelloAgentsErrorRatioHigh"
	AlertLatencyP95High      = "HelloAgentsLatencyP95High"
	AlertWALArchiveStale     = "HelloAgentsWALArchiveStale"
	AlertStandbyLagHigh      = "HelloAgentsStandbyLagHigh"
	AlertBackupStale         = "HelloAgentsBackupStale"
	AlertReplicaRestarting   = "HelloAgentsReplicaRestarting"
	AlertPostgresDown        = "HelloAgentsPostgresDown"
	AlertTargetDown          = "HelloAgentsTargetDown"
)

// Recorded series. Error ratios are named per window:
// ErrorRatioRecord(5*time.Minute) is "helloagents:http_requests:error_ratio_rate5m".
const (
	RequestRateRecord     = "helloagents:http_requests:rate5m"
	LatencyP95Record      = "helloagents:http_request_duration_seconds:p95_rate5m"
	ErrorBudgetLeftRecord = "helloagents:slo:error_budget_remaining"
)

// ErrorRatioRecord is the recorded 5xx / all ratio of the backend's requests
// over window w.
func ErrorRatioRecord(w time.Duration) string {
	return "helloagents:http_requests:error_ratio_rate" + PromDuration(w)
}

// Fixed windows of the rules that are not part of the availability SLO.
const (
	// LatencyWindow is the rate window of the P95.
	LatencyWindow = 5 * time.Minute
	// LatencyFor is how long the P95 must stay above the objective.
	LatencyFor = 10 * time.Minute
	// RestartWindow is the window in which more than RestartsAllowed
	// restarts of one replica fire HelloAgentsReplicaRestarting.
	RestartWindow   = 15 * time.Minute
	RestartsAllowed = 2
	// DownFor is how long a target, or Postgres, must be down; also the
	// `for` of the WAL and standby alerts (a single late scrape is no alert).
	DownFor = 5 * time.Minute
	// MinSamplesPerWindow is how many scrape intervals every rate window
	// must span at least (Prometheus's advice: 4, so a missed scrape still
	// leaves two samples).
	MinSamplesPerWindow = 4
	// RunbookDoc is the document the runbook annotations point into.
	RunbookDoc = "docs/MONITORING.md"
)

// The backend's series the rules read (backend/metrics).
const (
	requestsTotal   = "helloagents_http_requests_total"
	durationBucket  = "helloagents_http_request_duration_seconds_bucket"
	componentStatus = "helloagents_health_component_status"
	walArchiveAge   = "helloagents_pg_wal_archive_age_seconds"
	standbyLag      = "helloagents_pg_standby_replay_lag_seconds"
	// aggregation: the SLO is the region's, not a replica's. stack and
	// region are external labels (absent from the local series, so the sum
	// is the region's total); they are kept in `by` so the same rules stay
	// per region when evaluated over a store that holds several regions.
	byRegion = "sum by (stack, region)"
)

// Validate reports every invalid argument, naming it, its value and what is
// allowed.
func (a RuleArgs) Validate() error {
	var errs []error
	if err := a.SLO.Validate(); err != nil {
		errs = append(errs, err)
	}
	if a.ScrapeInterval <= 0 {
		errs = append(errs, fmt.Errorf("scrape interval is %q: must be positive", a.ScrapeInterval))
	} else if a.SLO.Validate() == nil {
		minWindow := MinSamplesPerWindow * a.ScrapeInterval
		for _, w := range a.windows() {
			if w < minWindow {
				errs = append(errs, fmt.Errorf("slo.period %s gives a rate window of %s, shorter than %d scrape intervals of %s (%s): lengthen the period or shorten the scrape interval",
					a.SLO.Period, w, MinSamplesPerWindow, a.ScrapeInterval, minWindow))
				break
			}
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"WAL archive max age", a.WALArchiveMaxAge},
		{"standby max lag", a.StandbyMaxLag},
		{"backup max age", a.BackupMaxAge},
	} {
		if d.v <= 0 || d.v%time.Second != 0 {
			errs = append(errs, fmt.Errorf("%s is %q: must be a positive whole number of seconds", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}

// windows are the distinct rate windows of the error ratio and the P95,
// shortest first.
func (a RuleArgs) windows() []time.Duration {
	ws := []time.Duration{LatencyWindow}
	for _, w := range a.SLO.Windows() {
		ws = append(ws, w.Short, w.Long)
	}
	slices.Sort(ws)
	return slices.Compact(ws)
}

// Rules renders one Prometheus rule file (YAML): the recording rules of the
// error ratio over every window the alerts use, the request rate, the P95
// and the error budget left; the SLO alerts and the operational alerts.
func Rules(a RuleArgs) ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("monitoring rules: %w", err)
	}
	out, err := marshal(ruleFile{Groups: groups(a)})
	if err != nil {
		return nil, fmt.Errorf("monitoring rules: %w", err)
	}
	return out, nil
}

// marshal encodes v as YAML indented by two spaces.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	return b.Bytes(), nil
}

// AlertNames lists every alert the rules define, sorted and without
// repeats (a multi-window alert has one rule per window pair); the docs test
// checks docs/MONITORING.md against it.
func AlertNames(a RuleArgs) []string {
	var names []string
	for _, g := range groups(a) {
		for _, r := range g.Rules {
			if r.Alert != "" {
				names = append(names, r.Alert)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// RunbookAnchor is the anchor of an alert's section in RunbookDoc: GitHub's
// heading slug of the alert name.
func RunbookAnchor(alert string) string {
	return strings.ToLower(alert)
}

type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []rule `yaml:"rules"`
}

type rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// where is the annotation text naming the region an alert fires in.
const where = "{{ $externalLabels.stack }}/{{ $externalLabels.region }}"

func groups(a RuleArgs) []ruleGroup {
	return []ruleGroup{
		// The alerts follow their recording rules in one group: a group's
		// rules run in order, so each alert reads the ratios of the same
		// evaluation, not the previous one.
		{Name: "helloagents-slo", Rules: append(recordings(a), sloAlerts(a)...)},
		{
			Name: "helloagents-slo-budget",
			// A ratio over the whole period reads every sample of it:
			// evaluated every 5 minutes (scaled), not every scrape.
			Interval: PromDuration(max(a.SLO.Scale(5*time.Minute), a.ScrapeInterval)),
			Rules:    budgetRecordings(a),
		},
		{Name: "helloagents-operations", Rules: operationAlerts(a)},
	}
}

func errorRatioExpr(w time.Duration) string {
	d := PromDuration(w)
	all := fmt.Sprintf("%s (rate(%s{job=\"backend\"}[%s]))", byRegion, requestsTotal, d)
	errs := fmt.Sprintf("%s (rate(%s{job=\"backend\",status_class=\"5xx\"}[%s]))", byRegion, requestsTotal, d)
	// Before the first 5xx there is no 5xx series: the ratio is then 0,
	// not absent (and stays absent without any traffic).
	return fmt.Sprintf("(\n  %s\n  or\n  %s * 0\n)\n/\n%s", errs, all, all)
}

func recordings(a RuleArgs) []rule {
	var rs []rule
	for _, w := range a.windows() {
		rs = append(rs, rule{Record: ErrorRatioRecord(w), Expr: errorRatioExpr(w)})
	}
	lw := PromDuration(LatencyWindow)
	return append(rs,
		rule{Record: RequestRateRecord, Expr: fmt.Sprintf("%s (rate(%s{job=\"backend\"}[%s]))", byRegion, requestsTotal, lw)},
		rule{Record: LatencyP95Record, Expr: fmt.Sprintf(
			"histogram_quantile(0.95, sum by (stack, region, le) (rate(%s{job=\"backend\"}[%s])))", durationBucket, lw)},
	)
}

func budgetRecordings(a RuleArgs) []rule {
	p := a.SLO.Period
	return []rule{
		{Record: ErrorRatioRecord(p), Expr: errorRatioExpr(p)},
		{Record: ErrorBudgetLeftRecord, Expr: fmt.Sprintf("1 - %s / %s", ErrorRatioRecord(p), num(a.SLO.Budget())),
			Labels: map[string]string{"slo": "availability"}},
	}
}

func sloAlerts(a RuleArgs) []rule {
	s := a.SLO
	var rs []rule
	for _, w := range s.Windows() {
		name, speed := AlertErrorBudgetBurnSlow, "slowly"
		if w.Severity == SeverityPage {
			name, speed = AlertErrorBudgetBurnFast, "fast"
		}
		t := num(w.Threshold(s))
		long, short := PromDuration(w.Long), PromDuration(w.Short)
		spent := w.BurnRate * float64(w.Long) / float64(s.Period)
		rs = append(rs, rule{
			Alert: name,
			Expr:  fmt.Sprintf("%s > %s\nand\n%s > %s", ErrorRatioRecord(w.Long), t, ErrorRatioRecord(w.Short), t),
			For:   PromDuration(w.For),
			Labels: map[string]string{
				"severity": string(w.Severity), "slo": "availability",
				"long_window": long, "short_window": short,
			},
			Annotations: annotations(name,
				fmt.Sprintf("%s: the availability error budget is burning %s (%s× over %s)", where, speed, num(w.BurnRate), long),
				fmt.Sprintf("{{ $value | humanizePercentage }} of requests answered 5xx over the last %s, and more than %s over the last %s: "+
					"%s times the %s error budget of the %s availability SLO over %s. At this rate %s of the period's budget is spent every %s.",
					long, pct(w.Threshold(s)), short, num(w.BurnRate), pct(s.Budget()), pct(s.Availability), PromDuration(s.Period),
					pctRounded(spent), long)),
		})
	}
	page := s.Windows()[0]
	long, short := PromDuration(page.Long), PromDuration(page.Short)
	ratio := num(s.ErrorRatio)
	lat := num(s.LatencyP95.Seconds())
	return append(rs,
		rule{
			Alert:  AlertErrorRatioHigh,
			Expr:   fmt.Sprintf("%s > %s\nand\n%s > %s", ErrorRatioRecord(page.Long), ratio, ErrorRatioRecord(page.Short), ratio),
			For:    PromDuration(page.For),
			Labels: map[string]string{"severity": string(SeverityTicket), "slo": "error-ratio"},
			Annotations: annotations(AlertErrorRatioHigh,
				fmt.Sprintf("%s: error ratio above %s", where, pct(s.ErrorRatio)),
				fmt.Sprintf("{{ $value | humanizePercentage }} of requests answered 5xx over the last %s (and more than %s over the last %s); the objective is under %s.",
					long, pct(s.ErrorRatio), short, pct(s.ErrorRatio))),
		},
		rule{
			Alert:  AlertLatencyP95High,
			Expr:   fmt.Sprintf("%s > %s", LatencyP95Record, lat),
			For:    PromDuration(LatencyFor),
			Labels: map[string]string{"severity": string(SeverityTicket), "slo": "latency"},
			Annotations: annotations(AlertLatencyP95High,
				fmt.Sprintf("%s: P95 latency above %s", where, s.LatencyP95),
				fmt.Sprintf("The 95th percentile of the backend's response time over the last %s is {{ $value | humanizeDuration }}, above the %s objective, for %s.",
					PromDuration(LatencyWindow), s.LatencyP95, PromDuration(LatencyFor))),
		},
	)
}

func operationAlerts(a RuleArgs) []rule {
	ticket := map[string]string{"severity": string(SeverityTicket)}
	return []rule{
		{
			Alert:  AlertWALArchiveStale,
			Expr:   fmt.Sprintf("%s{job=\"postgres\"} > %s", walArchiveAge, num(a.WALArchiveMaxAge.Seconds())),
			For:    PromDuration(DownFor),
			Labels: map[string]string{"severity": string(SeverityPage)},
			Annotations: annotations(AlertWALArchiveStale,
				fmt.Sprintf("%s: WAL archiving is stale on the primary", where),
				fmt.Sprintf("The last WAL segment reached the archive {{ $value | humanizeDuration }} ago (more than %s): point-in-time recovery and the standbys fall behind, and pg_wal grows until the disk is full.",
					a.WALArchiveMaxAge)),
		},
		{
			Alert:  AlertStandbyLagHigh,
			Expr:   fmt.Sprintf("%s{job=\"postgres\"} > %s", standbyLag, num(a.StandbyMaxLag.Seconds())),
			For:    PromDuration(DownFor),
			Labels: ticket,
			Annotations: annotations(AlertStandbyLagHigh,
				fmt.Sprintf("%s: the standby database is behind the primary", where),
				fmt.Sprintf("The standby last replayed a commit {{ $value | humanizeDuration }} ago (more than %s): reads in this region are stale; the primary is down, its archiving is stuck, or replay is stuck.",
					a.StandbyMaxLag)),
		},
		{
			Alert: AlertBackupStale,
			// max: any replica reporting degraded; the gauge is 1 for the
			// current status only.
			Expr:   fmt.Sprintf("max by (stack, region) (%s{job=\"backend\",component=\"backups\",status=\"degraded\"}) == 1", componentStatus),
			For:    PromDuration(a.BackupMaxAge),
			Labels: ticket,
			Annotations: annotations(AlertBackupStale,
				fmt.Sprintf("%s: backups need attention", where),
				fmt.Sprintf("The backend's backups health component has been degraded for %s: WAL archiving is failing or behind, or the last full backup is missing or overdue. /health's backups message gives the ages.",
					a.BackupMaxAge)),
		},
		{
			Alert: AlertReplicaRestarting,
			// A replica restarted by Docker keeps its container, hence its
			// address and its instance label: each restart is a change of
			// the process's start time. A release's new replicas are new
			// series and count none.
			Expr:   fmt.Sprintf("changes(process_start_time_seconds{job=\"backend\"}[%s]) > %d", PromDuration(RestartWindow), RestartsAllowed),
			Labels: ticket,
			Annotations: annotations(AlertReplicaRestarting,
				fmt.Sprintf("%s: backend replica {{ $labels.instance }} keeps restarting", where),
				fmt.Sprintf("The backend replica at {{ $labels.instance }} restarted {{ $value }} times in %s (more than %d): it crashes, panics or runs out of memory.",
					PromDuration(RestartWindow), RestartsAllowed)),
		},
		{
			Alert:  AlertPostgresDown,
			Expr:   "pg_up{job=\"postgres\"} == 0",
			For:    PromDuration(DownFor),
			Labels: ticket,
			Annotations: annotations(AlertPostgresDown,
				fmt.Sprintf("%s: the Postgres exporter cannot reach the database", where),
				fmt.Sprintf("pg_up has been 0 for %s: the database is down or refuses the exporter, and the WAL and standby alerts are blind meanwhile.", PromDuration(DownFor))),
		},
		{
			Alert:  AlertTargetDown,
			Expr:   "up == 0",
			For:    PromDuration(DownFor),
			Labels: ticket,
			Annotations: annotations(AlertTargetDown,
				fmt.Sprintf("%s: {{ $labels.job }} target {{ $labels.instance }} is down", where),
				fmt.Sprintf("Prometheus has failed to scrape {{ $labels.job }} at {{ $labels.instance }} for %s: its metrics, and the alerts that read them, are missing.", PromDuration(DownFor))),
		},
	}
}

func annotations(alert, summary, description string) map[string]string {
	return map[string]string{
		"summary":     summary,
		"description": description,
		"runbook":     RunbookDoc + "#" + RunbookAnchor(alert),
	}
}

// PromDuration formats d as a Prometheus duration in its largest exact unit
// (d, h, m, s or ms): "30d", "90s", "1500ms".
func PromDuration(d time.Duration) string {
	units := []struct {
		suffix string
		size   time.Duration
	}{
		{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second},
	}
	for _, u := range units {
		if d%u.size == 0 {
			return strconv.FormatInt(int64(d/u.size), 10) + u.suffix
		}
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// num formats a number for PromQL: 0.0144, 600.
func num(x float64) string {
	return strconv.FormatFloat(roundSig(x), 'g', -1, 64)
}

// pctRounded formats a fraction as a percentage to 3 significant digits.
func pctRounded(x float64) string {
	return strconv.FormatFloat(x*100, 'g', 3, 64) + " %"
}

// pct formats a fraction as a percentage: 0.0144 is "1.44 %".
func pct(x float64) string {
	return num(x*100) + " %"
}
