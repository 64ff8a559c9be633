// Package e2e proves the region's monitoring end to end with the real
// images: the backend replicas behind the proxy, Postgres, and the
// Prometheus and Alertmanager images running the configuration and rules
// that package monitoring renders for a stack. It has no code of its own,
// only TestFastBurnAlertReachesWebhook; it runs with IMAGE_TESTS=1.
package e2e
