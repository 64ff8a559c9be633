package pitr

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// PostgresCredential is the postgres user's credential when the caller runs
// as root (the recovery and role tools in tests, or a root shell in the
// container): PostgreSQL refuses to run as root, and restored files must be
// the cluster owner's. Nil when the caller is not root.
func PostgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a postgres user to own the cluster: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres user: bad uid/gid %s/%s", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
