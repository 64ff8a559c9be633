package monitoring

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/helloagents/infra/backend/proxy"
)

// PrometheusArgs are the inputs of prometheus.yml. Retention is not here: it
// is a command-line flag of the server (--storage.tsdb.retention.time), set
// by the container, not the configuration file.
type PrometheusArgs struct {
	Stack, Region string
	// ScrapeInterval is the global scrape and rule evaluation interval.
	ScrapeInterval time.Duration
	// RuleFiles are the rule files' paths (globs allowed) as Prometheus
	// reads them; empty means [RulesPath]. Tests point them at a temporary
	// directory.
	RuleFiles []string
	// RemoteWrite, when not nil, ships every sample to a long-term store.
	RemoteWrite *RemoteWrite
}

// Paths and addresses inside a region's Docker network (DESIGN-20: the
// containers' network aliases and ports).
const (
	// ConfigPath is where the Prometheus image's entrypoint writes
	// prometheus.yml and RulesPath the rule file
	// (backend/prometheus.ConfigPath and RulesPath).
	ConfigPath = "/etc/prometheus/prometheus.yml"
	RulesPath  = "/etc/prometheus/rules.yml"

	BackendAlias = "backend"
	// CanaryAlias is the canary replicas' alias during a canary release
	// (backend/proxy.CanaryHost): scraped by the same job, told apart by
	// their helloagents_build_info fingerprint.
	CanaryAlias        = proxy.CanaryHost
	BackendMetricsPort = 9464
	ProxyTarget        = "proxy:8405"
	PostgresTarget     = "pgexporter:9187"
	PrometheusTarget   = "localhost:9090"
	AlertmanagerTarget = "alertmanager:9093"
)

// Scrape job names; the rules select on them.
const (
	JobBackend      = "backend"
	JobProxy        = "proxy"
	JobPostgres     = "postgres"
	JobPrometheus   = "prometheus"
	JobAlertmanager = "alertmanager"
)

// RemoteWrite is an optional remote_write destination with basic auth. The
// password is written inline: the rendered file is a Pulumi secret.
type RemoteWrite struct {
	URL, Username, Password string
}

type promConfig struct {
	Global        promGlobal       `yaml:"global"`
	RuleFiles     []string         `yaml:"rule_files"`
	Alerting      promAlerting     `yaml:"alerting"`
	ScrapeConfigs []scrapeConfig   `yaml:"scrape_configs"`
	RemoteWrite   []remoteWriteCfg `yaml:"remote_write,omitempty"`
}

type promGlobal struct {
	ScrapeInterval     string            `yaml:"scrape_interval"`
	ScrapeTimeout      string            `yaml:"scrape_timeout"`
	EvaluationInterval string            `yaml:"evaluation_interval"`
	ExternalLabels     map[string]string `yaml:"external_labels"`
}

type promAlerting struct {
	Alertmanagers []alertmanagerTarget `yaml:"alertmanagers"`
}

type alertmanagerTarget struct {
	StaticConfigs []staticConfig `yaml:"static_configs"`
}

type staticConfig struct {
	Targets []string `yaml:"targets"`
}

type scrapeConfig struct {
	JobName       string         `yaml:"job_name"`
	StaticConfigs []staticConfig `yaml:"static_configs,omitempty"`
	DNSSDConfigs  []dnsSDConfig  `yaml:"dns_sd_configs,omitempty"`
}

// dnsSDConfig is Prometheus's dns_sd_config: type A lookups of names need
// the port.
type dnsSDConfig struct {
	Names           []string `yaml:"names"`
	Type            string   `yaml:"type"`
	Port            int      `yaml:"port"`
	RefreshInterval string   `yaml:"refresh_interval"`
}

type remoteWriteCfg struct {
	URL       string     `yaml:"url"`
	BasicAuth *basicAuth `yaml:"basic_auth,omitempty"`
}

type basicAuth struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// Validate reports every invalid argument. Errors never contain the remote
// write URL or credentials.
func (a PrometheusArgs) Validate() error {
	var errs []error
	if a.Stack == "" {
		errs = append(errs, errors.New("stack is empty: the external label stack needs a value"))
	}
	if a.Region == "" {
		errs = append(errs, errors.New("region is empty: the external label region needs a value"))
	}
	if a.ScrapeInterval < time.Second || a.ScrapeInterval%time.Second != 0 {
		errs = append(errs, fmt.Errorf("scrape interval is %q: must be a whole number of seconds, at least 1s", a.ScrapeInterval))
	}
	if rw := a.RemoteWrite; rw != nil {
		if !httpURL(rw.URL) {
			errs = append(errs, errors.New("remote write URL is not an absolute http(s) URL"))
		}
		if (rw.Username == "") != (rw.Password == "") {
			errs = append(errs, errors.New("remote write needs both a username and a password for basic auth, or neither"))
		}
	}
	return errors.Join(errs...)
}

// httpURL reports whether s is an absolute http or https URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// PrometheusConfig renders prometheus.yml: the scrape jobs of the region
// (the backend replicas found by Docker DNS service discovery on their
// network alias, so a release needs no reconfiguration; the proxy's and
// Postgres's exporters; Prometheus and Alertmanager themselves), the rule
// files, Alertmanager, and the optional remote_write.
func PrometheusConfig(a PrometheusArgs) ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("prometheus config of %s/%s: %w", a.Stack, a.Region, err)
	}
	iv := PromDuration(a.ScrapeInterval)
	static := func(job, target string) scrapeConfig {
		return scrapeConfig{JobName: job, StaticConfigs: []staticConfig{{Targets: []string{target}}}}
	}
	rules := a.RuleFiles
	if len(rules) == 0 {
		rules = []string{RulesPath}
	}
	c := promConfig{
		Global: promGlobal{
			ScrapeInterval: iv,
			// Prometheus's default timeout (10s) must not exceed the interval.
			ScrapeTimeout:      PromDuration(min(a.ScrapeInterval, 10*time.Second)),
			EvaluationInterval: iv,
			ExternalLabels:     map[string]string{"stack": a.Stack, "region": a.Region},
		},
		RuleFiles: rules,
		Alerting: promAlerting{Alertmanagers: []alertmanagerTarget{{
			StaticConfigs: []staticConfig{{Targets: []string{AlertmanagerTarget}}},
		}}},
		ScrapeConfigs: []scrapeConfig{
			{
				JobName: JobBackend,
				// Docker's embedded DNS answers each alias with one A record
				// per running replica (the canary's alias answers NXDOMAIN
				// without a canary); refreshed every scrape interval, a new
				// replica is scraped within two intervals.
				DNSSDConfigs: []dnsSDConfig{{
					Names: []string{BackendAlias, CanaryAlias}, Type: "A", Port: BackendMetricsPort, RefreshInterval: iv,
				}},
			},
			static(JobProxy, ProxyTarget),
			static(JobPostgres, PostgresTarget),
			static(JobPrometheus, PrometheusTarget),
			static(JobAlertmanager, AlertmanagerTarget),
		},
	}
	if rw := a.RemoteWrite; rw != nil {
		w := remoteWriteCfg{URL: rw.URL}
		if rw.Username != "" {
			w.BasicAuth = &basicAuth{Username: rw.Username, Password: rw.Password}
		}
		c.RemoteWrite = []remoteWriteCfg{w}
	}
	out, err := marshal(c)
	if err != nil {
		return nil, fmt.Errorf("prometheus config: %w", err)
	}
	return out, nil
}
