package config

import (
	"fmt"
	"math"
	"net"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/monitoring"
)

// SLO is the platform's promise in the stack file's words (durations as
// strings): helloagents:slo. Defaults come from monitoring.DefaultSLO.
type SLO struct {
	// Availability is the fraction of requests that must not answer 5xx
	// over Period (0.999).
	Availability float64 `json:"availability"`
	// Period is the SLO's window, a Go duration ("720h": 30 days).
	Period string `json:"period"`
	// ErrorRatio is the error-ratio objective, 5xx / all (0.01).
	ErrorRatio float64 `json:"errorRatio"`
	// LatencyP95 is the P95 objective, one of the latency histogram's
	// buckets ("500ms").
	LatencyP95 string `json:"latencyP95"`
}

// Monitoring configures each region's Prometheus, Alertmanager and Postgres
// exporter, and who may look at them: helloagents:monitoring. The
// remote_write and SMTP passwords are the secrets
// helloagents:monitoringRemoteWritePassword and
// helloagents:monitoringSmtpPassword.
type Monitoring struct {
	// ScrapeInterval is how often Prometheus scrapes and evaluates ("15s").
	ScrapeInterval string `json:"scrapeInterval"`
	// Retention is how long Prometheus keeps samples, a Prometheus duration
	// ("15d").
	Retention string `json:"retention"`
	// RemoteWriteURL, when set, ships every sample to a long-term store;
	// RemoteWriteUsername authenticates (basic auth) with the secret
	// password.
	RemoteWriteURL      string `json:"remoteWriteUrl,omitempty"`
	RemoteWriteUsername string `json:"remoteWriteUsername,omitempty"`
	// AccessEmails and AccessDomains may sign in to the monitoring
	// hostnames through Cloudflare Access (staging, production).
	AccessEmails  []string `json:"accessEmails,omitempty"`
	AccessDomains []string `json:"accessDomains,omitempty"`
	// SMTP server Alertmanager sends the alert e-mails through (required
	// when helloagents:alerts.emails lists any).
	SMTPSmarthost string `json:"smtpSmarthost,omitempty"`
	SMTPFrom      string `json:"smtpFrom,omitempty"`
	SMTPUsername  string `json:"smtpUsername,omitempty"`
	// PrometheusHostPort and AlertmanagerHostPort publish the UIs on
	// 127.0.0.1 in dev.
	PrometheusHostPort   int `json:"prometheusHostPort"`
	AlertmanagerHostPort int `json:"alertmanagerHostPort"`
	// The digest-pinned images (production: required, promoted from
	// staging's outputs; elsewhere built from backend/).
	PrometheusImage   string `json:"prometheusImage,omitempty"`
	AlertmanagerImage string `json:"alertmanagerImage,omitempty"`
	PGExporterImage   string `json:"pgexporterImage,omitempty"`
}

// Config keys of the monitoring, without the namespace.
const (
	KeySLO                           = "slo"
	KeyMonitoring                    = "monitoring"
	KeyMonitoringRemoteWritePassword = "monitoringRemoteWritePassword"
	KeyMonitoringSMTPPassword        = "monitoringSmtpPassword"
)

// Dockerfiles of the monitoring images, relative to BackendContext().
const (
	PrometheusDockerfile   = "prometheus.Dockerfile"
	AlertmanagerDockerfile = "alertmanager.Dockerfile"
	PGExporterDockerfile   = "pgexporter.Dockerfile"
)

// Bounds of monitoring.scrapeInterval.
const (
	minScrapeInterval = time.Second
	maxScrapeInterval = 5 * time.Minute
)

func defaultSLO() SLO {
	s := monitoring.DefaultSLO()
	return SLO{
		Availability: s.Availability, Period: contract.FormatDuration(s.Period),
		ErrorRatio: s.ErrorRatio, LatencyP95: contract.FormatDuration(s.LatencyP95),
	}
}

func defaultMonitoring() Monitoring {
	return Monitoring{
		ScrapeInterval:       "15s",
		Retention:            "15d",
		PrometheusHostPort:   9090,
		AlertmanagerHostPort: 9093,
	}
}

// Value is the SLO as package monitoring takes it; valid once Parse
// accepted the config.
func (s SLO) Value() monitoring.SLO {
	period, _ := time.ParseDuration(s.Period)
	p95, _ := time.ParseDuration(s.LatencyP95)
	return monitoring.SLO{Availability: s.Availability, Period: period, ErrorRatio: s.ErrorRatio, LatencyP95: p95}
}

// ScrapeIntervalDuration is monitoring.scrapeInterval as a duration
// (validated).
func (m Monitoring) ScrapeIntervalDuration() time.Duration {
	d, _ := time.ParseDuration(m.ScrapeInterval)
	return d
}

// RuleArgs are the rule file's inputs of c.
func (c Config) RuleArgs() monitoring.RuleArgs {
	return monitoring.DefaultRuleArgs(c.SLO.Value(), c.Monitoring.ScrapeIntervalDuration())
}

// MonitoringHostname is the public hostname of service ("prometheus",
// "alertmanager") in region r outside dev: "<service>-<region>.<domain>" in
// production and "<service>-<stack>-<region>.<domain>" in the other stacks,
// so stacks sharing a zone never share a name, one level below the zone so
// Universal SSL covers it, like the regional API hostnames.
func (c Config) MonitoringHostname(service string, r Region) string {
	label := service + "-"
	if c.Environment != Production {
		label += SanitizeStack(c.Stack) + "-"
	}
	return label + r.Name + "." + c.Edge.Domain
}

// PrometheusURL and AlertmanagerURL are where people reach region r's UIs:
// the 127.0.0.1 ports in dev, the Access-protected hostnames elsewhere.
func (c Config) PrometheusURL(r Region) string {
	if c.Environment.Local() {
		return fmt.Sprintf("http://127.0.0.1:%d", c.Monitoring.PrometheusHostPort)
	}
	return "https://" + c.MonitoringHostname(MonitoringPrometheus, r)
}

// AlertmanagerURL: see PrometheusURL.
func (c Config) AlertmanagerURL(r Region) string {
	if c.Environment.Local() {
		return fmt.Sprintf("http://127.0.0.1:%d", c.Monitoring.AlertmanagerHostPort)
	}
	return "https://" + c.MonitoringHostname(MonitoringAlertmanager, r)
}

// The services with a public (Access-protected) hostname.
const (
	MonitoringPrometheus   = "prometheus"
	MonitoringAlertmanager = "alertmanager"
)

// validateSLO checks helloagents:slo field by field with the bounds of
// package monitoring (a test holds these checks to monitoring's own
// SLO.Validate), then the rule file's cross-field rules (every rate window
// spans enough scrape intervals), in monitoring's words.
func (c Config) validateSLO(p *problems) {
	if !c.validateSLOFields(p) || !c.validScrapeInterval() {
		return
	}
	if err := c.RuleArgs().Validate(); err != nil {
		p.bad(full(KeySLO)+".period", c.SLO.Period, fmt.Sprintf("a period whose burn-rate windows fit the scrape interval (%s)", err))
	}
}

// validateSLOFields checks each field of helloagents:slo on its own and
// reports whether all are valid.
func (c Config) validateSLOFields(p *problems) bool {
	k := full(KeySLO)
	s := c.SLO
	ok := true
	bad := func(field string, v any, allowed string) {
		p.bad(k+"."+field, v, allowed)
		ok = false
	}
	if !(s.Availability >= monitoring.MinAvailability && s.Availability <= monitoring.MaxAvailability) {
		bad("availability", s.Availability, fmt.Sprintf("a fraction between %v and %v (0.999 is 99.9 %%)",
			monitoring.MinAvailability, monitoring.MaxAvailability))
	}
	if d, err := time.ParseDuration(s.Period); err != nil || d < monitoring.MinPeriod || d > monitoring.MaxPeriod || d%time.Second != 0 {
		bad("period", s.Period, fmt.Sprintf(`whole seconds between "%s" and "%s" (30 days is "720h")`,
			contract.FormatDuration(monitoring.MinPeriod), contract.FormatDuration(monitoring.MaxPeriod)))
	}
	if !(s.ErrorRatio > 0 && s.ErrorRatio < 1) {
		bad("errorRatio", s.ErrorRatio, "a fraction above 0 and below 1 (0.01 is 1 %)")
	}
	if d, err := time.ParseDuration(s.LatencyP95); err != nil || !slices.Contains(latencyBuckets(), d) {
		bad("latencyP95", s.LatencyP95, "one of the latency histogram's buckets: "+latencyBucketList())
	}
	return ok
}

// latencyBucketList is latencyBuckets as a message lists them: "5ms, 10ms, ...".
func latencyBucketList() string {
	var b []string
	for _, d := range latencyBuckets() {
		b = append(b, contract.FormatDuration(d))
	}
	return strings.Join(b, ", ")
}

// latencyBuckets are monitoring.DurationBuckets as durations.
func latencyBuckets() []time.Duration {
	var out []time.Duration
	for _, b := range monitoring.DurationBuckets() {
		out = append(out, time.Duration(math.Round(b*1000))*time.Millisecond)
	}
	return out
}

// validScrapeInterval reports whether monitoring.scrapeInterval is valid.
func (c Config) validScrapeInterval() bool {
	d, err := time.ParseDuration(c.Monitoring.ScrapeInterval)
	return err == nil && d >= minScrapeInterval && d <= maxScrapeInterval && d%time.Second == 0
}

// validateMonitoring checks helloagents:monitoring and its secrets.
func (c Config) validateMonitoring(p *problems) {
	before := len(*p)
	c.validateMonitoringFields(p)
	if len(*p) == before {
		c.validateMonitoringFiles(p)
	}
}

// validateMonitoringFiles asks package monitoring whether it can render
// every region's files from c: what the fields' checks let through is
// refused here, before any resource exists, rather than inside the update.
// Its errors never quote the webhook URL or a password.
func (c Config) validateMonitoringFiles(p *problems) {
	s := c.Secrets
	for _, r := range c.Regions {
		if !regionName.MatchString(r.Name) {
			continue // reported by validateRegions
		}
		for _, err := range []error{
			c.PrometheusArgs(r, s.MonitoringRemoteWritePassword.Reveal()).Validate(),
			c.AlertmanagerArgs(r, s.AlertWebhookURL.Reveal(), s.MonitoringSMTPPassword.Reveal()).Validate(),
		} {
			if err != nil {
				*p = append(*p, fmt.Errorf("%s: region %s: %w", full(KeyMonitoring), r.Name, err))
			}
		}
	}
}

// validateMonitoringFields checks each field of helloagents:monitoring.
func (c Config) validateMonitoringFields(p *problems) {
	k := full(KeyMonitoring)
	m := c.Monitoring
	if !c.validScrapeInterval() {
		p.bad(k+".scrapeInterval", m.ScrapeInterval, fmt.Sprintf(`whole seconds between "%s" and "%s" (default "15s")`,
			contract.FormatDuration(minScrapeInterval), contract.FormatDuration(maxScrapeInterval)))
	}
	c.validateRetention(p)
	c.validateRemoteWrite(p)
	c.validateSMTP(p)
	c.validateAccess(p)
	if c.Environment.Local() {
		ports := map[int]string{c.Backend.HostPort: full(KeyBackend) + ".hostPort"}
		for _, hp := range []struct {
			field string
			port  int
		}{{"prometheusHostPort", m.PrometheusHostPort}, {"alertmanagerHostPort", m.AlertmanagerHostPort}} {
			if hp.port < 1 || hp.port > 65535 {
				p.bad(k+"."+hp.field, hp.port, "1..65535")
			} else if other, taken := ports[hp.port]; taken {
				p.bad(k+"."+hp.field, hp.port, "a port no other published port uses (taken by "+other+")")
			}
			ports[hp.port] = k + "." + hp.field
		}
	}
	c.checkPinnedImage(p, k+".prometheusImage", m.PrometheusImage, "Prometheus", contract.OutputPrometheusImage)
	c.checkPinnedImage(p, k+".alertmanagerImage", m.AlertmanagerImage, "Alertmanager", contract.OutputAlertmanagerImage)
	c.checkPinnedImage(p, k+".pgexporterImage", m.PGExporterImage, "Postgres exporter", contract.OutputPGExporterImage)
}

// validateRetention accepts a Prometheus duration at least as long as the
// longest burn-rate window, which the slow-burn alert reads.
func (c Config) validateRetention(p *problems) {
	k := full(KeyMonitoring) + ".retention"
	longest := time.Duration(0)
	for _, w := range c.SLO.Value().Windows() {
		longest = max(longest, w.Long)
	}
	d, err := model.ParseDuration(c.Monitoring.Retention)
	if err != nil || time.Duration(d) < max(longest, time.Hour) {
		p.bad(k, c.Monitoring.Retention, fmt.Sprintf("a Prometheus duration (\"15d\", \"12h\", \"1w\") of at least %s, the longest burn-rate window of the SLO",
			model.Duration(max(longest, time.Hour))))
	}
}

// validateRemoteWrite: an absolute URL (https outside dev), and a username
// only with the secret password. A password without a username is unused
// (no basic auth): the operator tools set every secret key in their tests.
func (c Config) validateRemoteWrite(p *problems) {
	k := full(KeyMonitoring)
	m := c.Monitoring
	password := c.Secrets.MonitoringRemoteWritePassword
	if m.RemoteWriteURL != "" {
		c.checkPublicURL(p, k+".remoteWriteUrl", m.RemoteWriteURL)
	}
	switch {
	case m.RemoteWriteUsername != "" && m.RemoteWriteURL == "":
		p.bad(k+".remoteWriteUsername", m.RemoteWriteUsername, "unset without remoteWriteUrl (nothing to authenticate to)")
	case m.RemoteWriteUsername != "" && password == "":
		p.missing(full(KeyMonitoringRemoteWritePassword), fmt.Sprintf("required with %s.remoteWriteUsername; set it with: pulumi config set --secret %s <value>",
			k, full(KeyMonitoringRemoteWritePassword)))
	}
}

// validateSMTP: Alertmanager mails the alert addresses itself, so they need
// a mail server; a username goes with the secret password (a password
// without a username is unused).
func (c Config) validateSMTP(p *problems) {
	k := full(KeyMonitoring)
	m := c.Monitoring
	password := c.Secrets.MonitoringSMTPPassword
	if len(c.Alerts.Emails) > 0 && m.SMTPSmarthost == "" {
		p.missing(k+".smtpSmarthost", fmt.Sprintf("%s.emails lists addresses and Alertmanager mails them itself: set the mail server, host:port (smtp.example.com:587)",
			full(KeyAlerts)))
	}
	if m.SMTPSmarthost != "" {
		if host, port, err := net.SplitHostPort(m.SMTPSmarthost); err != nil || host == "" || port == "" {
			p.bad(k+".smtpSmarthost", m.SMTPSmarthost, "host:port of a mail server (STARTTLS), e.g. smtp.example.com:587")
		}
		if a, err := mail.ParseAddress(m.SMTPFrom); err != nil || a.Address != m.SMTPFrom {
			p.bad(k+".smtpFrom", m.SMTPFrom, "the plain sender address of the alert e-mails, e.g. alertmanager@helloagents.dev")
		}
	}
	switch {
	case m.SMTPUsername != "" && m.SMTPSmarthost == "":
		p.bad(k+".smtpUsername", m.SMTPUsername, "unset without smtpSmarthost")
	case m.SMTPUsername != "" && password == "":
		p.missing(full(KeyMonitoringSMTPPassword), fmt.Sprintf("required with %s.smtpUsername; set it with: pulumi config set --secret %s <value>",
			k, full(KeyMonitoringSMTPPassword)))
	}
}

// validateAccess: plain addresses and DNS domains, and outside dev at
// least one of them (nobody could open the UIs otherwise), and monitoring
// hostnames that are valid DNS names.
func (c Config) validateAccess(p *problems) {
	k := full(KeyMonitoring)
	m := c.Monitoring
	checkEmails(p, k+".accessEmails", m.AccessEmails)
	for i, d := range m.AccessDomains {
		if !isDomain(d) {
			p.bad(fmt.Sprintf("%s.accessDomains[%d]", k, i), d, "an e-mail domain such as helloagents.dev (everyone with an address there may sign in)")
		}
	}
	if c.Environment.Local() {
		return
	}
	if len(m.AccessEmails) == 0 && len(m.AccessDomains) == 0 {
		p.missing(k+".accessEmails", "who may open the Prometheus and Alertmanager UIs (Cloudflare Access): at least one address, or an e-mail domain in accessDomains")
	}
	if !isDomain(c.Edge.Domain) {
		return // reported by validateEdge
	}
	for _, r := range c.Regions {
		for _, svc := range []string{MonitoringPrometheus, MonitoringAlertmanager} {
			if h := c.MonitoringHostname(svc, r); !isDomain(h) {
				p.bad(full(KeyRegions), r.Name, "region names whose monitoring hostname "+h+" is a valid DNS name (labels of at most 63 characters)")
			}
		}
	}
}

// AlertmanagerArgs are region r's Alertmanager inputs: the stack's alert
// destinations, with the webhook URL and SMTP password given (the password
// only with a username).
func (c Config) AlertmanagerArgs(r Region, webhook, smtpPassword string) monitoring.AlertmanagerArgs {
	m := c.Monitoring
	args := monitoring.AlertmanagerArgs{Stack: c.Stack, Region: r.Name, WebhookURL: webhook, Emails: c.Alerts.Emails}
	if m.SMTPSmarthost != "" {
		args.SMTP = &monitoring.SMTP{Smarthost: m.SMTPSmarthost, From: m.SMTPFrom}
		if m.SMTPUsername != "" {
			args.SMTP.Username, args.SMTP.Password = m.SMTPUsername, smtpPassword
		}
	}
	return args
}

// PrometheusArgs are region r's Prometheus inputs with the remote_write
// password given (used only with a username).
func (c Config) PrometheusArgs(r Region, password string) monitoring.PrometheusArgs {
	m := c.Monitoring
	args := monitoring.PrometheusArgs{Stack: c.Stack, Region: r.Name, ScrapeInterval: m.ScrapeIntervalDuration()}
	if m.RemoteWriteURL != "" {
		args.RemoteWrite = &monitoring.RemoteWrite{URL: m.RemoteWriteURL}
		if m.RemoteWriteUsername != "" {
			args.RemoteWrite.Username, args.RemoteWrite.Password = m.RemoteWriteUsername, password
		}
	}
	return args
}
