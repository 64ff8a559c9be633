package imagetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// GoBuilder returns the tag of a Go builder image made from this machine:
// the toolchain in GOROOT, its CA certificates (which may include a local
// proxy's CA) and a static busybox as /bin/sh (Debian's busybox-static). It is
// made once per Go version and machine and kept for the next tests; remove
// it with `docker rmi` to force a rebuild.
func (d Docker) GoBuilder(t testing.TB) string {
	t.Helper()
	const busybox = "/bin/busybox"
	if _, err := os.Stat(busybox); err != nil {
		missing(t, busybox+" (apt-get install busybox-static)")
	}
	goversion := strings.TrimSpace(Output(t, time.Minute, "go", "env", "GOVERSION"))
	tag := "helloagents-test/go-builder:" + goversion
	d.ensure(t, tag, func() {
		goroot := strings.TrimSpace(Output(t, time.Minute, "go", "env", "GOROOT"))
		root := t.TempDir()
		for _, dir := range []string{"bin", "etc/ssl/certs", "tmp", "root", "go"} {
			mkdir(t, filepath.Join(root, dir))
		}
		if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
			t.Fatal(err)
		}
		Output(t, time.Minute, "cp", busybox, filepath.Join(root, "bin/busybox"))
		for _, applet := range strings.Fields(Output(t, time.Minute, busybox, "--list")) {
			if applet != "busybox" {
				if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
					t.Fatal(err)
				}
			}
		}
		Output(t, time.Minute, "cp", "/etc/ssl/certs/ca-certificates.crt", filepath.Join(root, "etc/ssl/certs/"))
		if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// The toolchain goes in at its own path, so PATH names it as on this machine.
		d.importTree(t, tag, []string{"-C", root, ".", "-C", "/", strings.TrimPrefix(goroot, "/")},
			"-c", "ENV PATH="+goroot+"/bin:/go/bin:/bin", "-c", "ENV GOPATH=/go", "-c", "ENV HOME=/root")
	})
	return tag
}

// DebianBase returns the tag of a Debian bookworm base made by debootstrap
// (minbase variant, from DEBIAN_MIRROR or deb.debian.org), a stand-in for
// debian:bookworm-slim. It is made once a month per machine (the tag names
// the month, so the packages stay reasonably fresh) and kept. It needs root
// and debootstrap.
func (d Docker) DebianBase(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("debootstrap"); err != nil {
		missing(t, "debootstrap (apt-get install debootstrap)")
	}
	tag := "helloagents-test/debian:bookworm-" + time.Now().UTC().Format("200601")
	d.ensure(t, tag, func() {
		mirror := os.Getenv("DEBIAN_MIRROR")
		if mirror == "" {
			mirror = "http://deb.debian.org/debian"
		}
		root := filepath.Join(t.TempDir(), "rootfs")
		Output(t, 15*time.Minute, "debootstrap", "--variant=minbase", "bookworm", root, mirror)
		if err := os.RemoveAll(filepath.Join(root, "var/cache/apt/archives")); err != nil {
			t.Fatal(err)
		}
		d.importTree(t, tag, []string{"-C", root, "."})
	})
	return tag
}

// ensure makes the image tag with build unless it exists.
func (d Docker) ensure(t testing.TB, tag string, build func()) {
	t.Helper()
	err := onceAcrossProcesses(tag, func() bool { return d.Exists(tag) }, func() error {
		t.Logf("making base image %s (once per machine)", tag)
		build()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// onceAcrossProcesses runs make unless exists reports true. The second
// check and make run under an exclusive lock on a file in os.TempDir() named
// after key, shared by every process on the machine: concurrent test
// packages wait for one build instead of racing to make the same image.
func onceAcrossProcesses(key string, exists func() bool, make func() error) error {
	if exists() {
		return nil
	}
	name := strings.NewReplacer("/", "_", ":", "_").Replace(key)
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "helloagents-imagetest-"+name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("lock for %s: %w", key, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock for %s: %w", key, err)
	}
	defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	if exists() { // made by another process while this one waited
		return nil
	}
	return make()
}

// importTree pipes `tar -c tarArgs...` into `docker import changes... - tag`.
// Each process gets its own output buffer: their copying goroutines run
// concurrently, and a shared bytes.Buffer would be a data race.
func (d Docker) importTree(t testing.TB, tag string, tarArgs []string, changes ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tar := exec.CommandContext(ctx, "tar", append([]string{"-c", "-f", "-"}, tarArgs...)...)
	imp := d.Command(ctx, append(append([]string{"import"}, changes...), "-", tag)...)
	pipe, err := tar.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	imp.Stdin = pipe
	var tarErr, impOut bytes.Buffer
	tar.Stderr = &tarErr
	imp.Stdout, imp.Stderr = &impOut, &impOut
	if err := imp.Start(); err != nil {
		t.Fatalf("docker import %s: %v", tag, err)
	}
	if err := tar.Run(); err != nil {
		_ = imp.Wait()
		t.Fatalf("tar for %s: %v\n%s", tag, err, tarErr.String())
	}
	if err := imp.Wait(); err != nil {
		t.Fatalf("docker import %s: %v\n%s", tag, err, impOut.String())
	}
}

// Build runs `docker build` of dockerfile in contextDir with the build
// args and host networking (builds reach the Go module proxy and the Debian
// mirror as this machine does), tags the image and removes it after the test.
func (d Docker) Build(t testing.TB, tag, contextDir, dockerfile string, buildArgs map[string]string) {
	t.Helper()
	args := []string{"build", "--network", "host", "-t", tag, "-f", filepath.Join(contextDir, dockerfile)}
	for k, v := range buildArgs {
		args = append(args, "--build-arg", k+"="+v)
	}
	d.Run(t, 20*time.Minute, append(args, contextDir)...)
	t.Cleanup(func() { d.Cleanup("rmi", "-f", tag) })
}

// Tag is a unique name for an image or container of a test: the area, what
// it is and a timestamp.
func Tag(area, what string) string {
	return fmt.Sprintf("helloagents-test-%s-%s-%d", area, what, time.Now().UnixNano())
}

func mkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}
