// Package delivery holds the tests of the repository's GitHub Actions
// workflows (.github/workflows): they must pass actionlint, and they must keep
// the promises the delivery process depends on (a protected production
// environment for promotions, PR preview comments, drift detection that fails
// on changes, the Pulumi CLI pinned to the SDK's version).
package delivery
