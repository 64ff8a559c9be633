//go:build unix

package journal

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestLockRefusesASecondRunUntilReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j", "production.json")
	unlock, err := Lock(path, "failover")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(path, "failover"); err == nil || !strings.Contains(err.Error(), "another failover is running") {
		t.Fatalf("second lock: %v, want another failover is running", err)
	}
	unlock()
	again, err := Lock(path, "failover")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}
