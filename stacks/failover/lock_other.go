//go:build !unix

package failover

// lockRun is a no-op where flock does not exist; the Pulumi stack lock
// still serialises the update.
func lockRun(string) (func(), error) { return func() {}, nil }
