//go:build !unix

package promote

// lockRun is a no-op where flock does not exist; the Pulumi stack lock and
// the workflow's concurrency group still serialise updates there.
func lockRun(string) (func(), error) { return func() {}, nil }
