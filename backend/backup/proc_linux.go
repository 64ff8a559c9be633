package backup

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes a PostgreSQL program die with this process and
// puts it in its own process group, which a cancel kills whole: a killed job
// leaves no pg_dump running, and a cancelled one (SIGTERM) returns at once
// even when the program was started through a wrapper script.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
