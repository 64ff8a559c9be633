// Package monitoring renders the region's monitoring files from typed input:
// the Prometheus rule file (the SLOs' recording rules and multi-window,
// multi-burn-rate alerts, plus the database, backup and replica alerts), the
// Prometheus configuration and the Alertmanager configuration.
//
// It is pure Go with no Pulumi dependency: the components package calls these
// functions (inside an Apply when an input is a secret) and hands the bytes
// to the containers in secret variables, which the images' entrypoints
// write where these paths say. Every alert's meaning and runbook is in
// docs/MONITORING.md, whose alert names a test checks against AlertNames.
package monitoring
