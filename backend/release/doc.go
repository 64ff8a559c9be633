// Package release holds the end-to-end proof that a release drops no
// request (TestRelease): the real backend image in two generations behind
// the real proxy image (backend/proxy.Dockerfile), a real PostgreSQL, a DNS
// server that answers like Docker's embedded DNS, and the release performed
// in the order the infrastructure program orders it, each old replica
// deleted the way the docker provider deletes it (stop with the grace
// period, then a forced remove). The load is package loadgen. It has no non-test
// code; the test needs IMAGE_TESTS=1 (see backend/imagetest).
package release
