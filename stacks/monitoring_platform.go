package stacks

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/monitoring"
	"github.com/helloagents/infra/stacks/config"
)

// Fixed limits of the monitoring containers.
var (
	prometheusLimits   = components.Limits{MemoryMB: 512, CPUs: 0.5}
	alertmanagerLimits = components.Limits{MemoryMB: 128, CPUs: 0.25}
	exporterLimits     = components.Limits{MemoryMB: 64, CPUs: 0.25}
)

// errMonitoringRender is returned when a file validated by Parse fails to
// render: a bug, never a configuration problem.
var errMonitoringRender = errors.New("rendering the monitoring files")

// monitoringUser is the non-root user of the three monitoring images.
const monitoringUser = "65532:65532"

// accessSessionDuration is how long a sign-in to the monitoring UIs lasts.
const accessSessionDuration = "24h"

// monitoring creates region r's Prometheus, Alertmanager and Postgres
// exporter, with files rendered from the stack's SLO and monitoring config.
func (p *platform) monitoring(r config.Region, host *components.Region, imgs images, pull bool, db *components.Database) error {
	cfg := p.cfg
	prom, rules, am, err := p.monitoringFiles(r)
	if err != nil {
		return err
	}
	limits := func(l components.Limits) components.Limits {
		l.MaxRestarts = cfg.Backend.MaxRestarts
		return l
	}
	args := &components.MonitoringArgs{
		Host: host,
		Images: components.MonitoringImages{
			Prometheus: imgs.prometheus, Alertmanager: imgs.alertmanager, PGExporter: imgs.pgexporter,
		},
		Pull: pull, User: monitoringUser,
		PrometheusConfig: prom, Rules: rules, AlertmanagerConfig: am,
		Retention:     cfg.Monitoring.Retention,
		PrometheusURL: cfg.PrometheusURL(r), AlertmanagerURL: cfg.AlertmanagerURL(r),
		DatabaseURL:        db.URL,
		PrometheusLimits:   limits(prometheusLimits),
		AlertmanagerLimits: limits(alertmanagerLimits),
		ExporterLimits:     limits(exporterLimits),
	}
	if cfg.Environment.Local() {
		args.PrometheusHostPort = cfg.Monitoring.PrometheusHostPort
		args.AlertmanagerHostPort = cfg.Monitoring.AlertmanagerHostPort
	}
	_, err = components.NewMonitoring(p.ctx, "monitoring-"+r.Name, args, p.inRegion(host))
	return err
}

// monitoringFiles renders region r's prometheus.yml, rule file and
// alertmanager.yml. The files that hold a credential are rendered inside
// an Apply on the Secrets component's outputs, so they are secrets; Parse
// validated every input, so a rendering error is a bug.
func (p *platform) monitoringFiles(r config.Region) (prom, rules, am pulumi.StringOutput, err error) {
	cfg := p.cfg
	ruleFile, err := monitoring.Rules(cfg.RuleArgs())
	if err != nil {
		return prom, rules, am, fmt.Errorf("%w: region %s: %w", errMonitoringRender, r.Name, err)
	}
	rules = pulumi.String(string(ruleFile)).ToStringOutput()
	prom = p.secrets.MonitoringRemoteWritePassword.ApplyT(func(password string) (string, error) {
		b, err := monitoring.PrometheusConfig(cfg.PrometheusArgs(r, password))
		if err != nil {
			return "", fmt.Errorf("%w: region %s: %w", errMonitoringRender, r.Name, err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
	am = pulumi.All(p.secrets.AlertWebhookURL, p.secrets.MonitoringSMTPPassword).ApplyT(func(v []any) (string, error) {
		b, err := monitoring.AlertmanagerConfig(cfg.AlertmanagerArgs(r, v[0].(string), v[1].(string)))
		if err != nil {
			return "", fmt.Errorf("%w: region %s: %w", errMonitoringRender, r.Name, err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
	return pulumi.ToSecret(prom).(pulumi.StringOutput), rules, pulumi.ToSecret(am).(pulumi.StringOutput), nil
}

// monitoringRoutes are the tunnel routes of region r's monitoring UIs.
func (p *platform) monitoringRoutes(r config.Region) []components.TunnelRoute {
	return []components.TunnelRoute{
		{Hostname: p.cfg.MonitoringHostname(config.MonitoringPrometheus, r), Service: fmt.Sprintf("http://%s:%d", components.PrometheusAlias, components.PrometheusPort)},
		{Hostname: p.cfg.MonitoringHostname(config.MonitoringAlertmanager, r), Service: fmt.Sprintf("http://%s:%d", components.AlertmanagerAlias, components.AlertmanagerPort)},
	}
}

// monitoringAccess puts every region's monitoring hostnames behind
// Cloudflare Access and records the operator tools' service token in out.
func (p *platform) monitoringAccess(tunnels map[string]*components.Tunnel, out *Outputs) error {
	cfg := p.cfg
	var hosts []components.MonitoringHost
	for _, r := range cfg.Regions {
		for _, route := range p.monitoringRoutes(r) {
			hosts = append(hosts, components.MonitoringHost{Region: r.Name, Hostname: route.Hostname, TunnelCNAME: tunnels[r.Name].CNAME})
		}
	}
	access, err := components.NewMonitoringAccess(p.ctx, "monitoring-access", &components.MonitoringAccessArgs{
		Prefix: p.prefix, AccountID: cfg.Edge.AccountID, ZoneID: cfg.Edge.ZoneID, Hosts: hosts,
		Emails: cfg.Monitoring.AccessEmails, EmailDomains: cfg.Monitoring.AccessDomains,
		SessionDuration: accessSessionDuration, Cloudflare: p.cloudflare,
	})
	if err != nil {
		return err
	}
	out.MonitoringClientID = access.ClientID
	out.MonitoringClientSecret = access.ClientSecret
	return nil
}
