//go:build !unix

package journal

// Lock is a no-op where flock does not exist; the Pulumi stack lock and the
// workflow's concurrency group still serialise updates there.
func Lock(string, string) (func(), error) { return func() {}, nil }
