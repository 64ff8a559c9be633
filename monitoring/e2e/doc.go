// Package e2e proves the region's monitoring end to end with the real
// images: the backend replicas behind the proxy, Postgres, and the
// Prometheus and Alertmanager images running the configuration and rules
// that package monitoring renders for a stack. It has no code of its own,
// only TestFastBurnAlertReachesWebhook (the region it runs is
// internal/regiontest's, shared with canary/e2e); it runs with
// IMAGE_TESTS=1.
package e2e
