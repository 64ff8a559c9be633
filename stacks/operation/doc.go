// Package operation is what the operator's long-running changes to a stack
// (a promotion, a failover) share: the Automation API workspace they run
// Pulumi through, the policy pack every update enforces, the gates that
// judge a deployment, and the runner that takes a run through its steps
// with a journal to resume from, a confirmation for production targets and
// notifications.
package operation
