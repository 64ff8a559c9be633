// Package rules holds the HelloAgents guardrails as plain Go functions over
// policyx.AnalyzerResource values, so every rule is testable without the
// analyzer gRPC protocol. Package pack wires them into a CrossGuard policy pack.
//
// Each resource rule returns the violation messages for one resource; each
// stack rule returns findings (URN + message) for a whole resource graph. A
// message always names the resource, the offending value and the fix.
//
// Values that are not known yet (computed during a preview) are not judged:
// the engine analyzes the resource again during the update, when every input
// is known, so a rule never guesses.
package rules
