package backup

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal kills the child when this process dies, so a killed
// job cannot leave pg_dump running.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
