package suite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// debianPackages are the Debian packages of what the suite runs, by the
// program that shows whether each is there.
var debianPackages = []struct{ program, pkg string }{
	{"runc", "runc"},
	{"runsc", "runsc"}, // Debian's 2022 build
	{"wrk", "wrk"},
	{"/bin/busybox", "busybox-static"},
	{"gcc", "gcc libc6-dev"},
	{"ip", "iproute2"},
	{"/usr/bin/python3", "python3"},
	{"tar", "tar"},
	{"gzip", "gzip"},
}

// InstallMissing installs with apt-get the Debian packages of the
// programs the suite runs that are not there, refreshing the package
// lists first if the install fails without it. What still cannot be
// installed is skipped later, as on a machine without apt-get.
func InstallMissing(ctx context.Context, log func(string, ...any)) error {
	var missing []string
	for _, p := range debianPackages {
		if _, err := exec.LookPath(p.program); err != nil {
			missing = append(missing, strings.Fields(p.pkg)...)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("no apt-get to install %s", strings.Join(missing, " "))
	}
	log("installing %s (apt-get)", strings.Join(missing, " "))
	install := func() ([]byte, error) {
		cmd := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "-q", "--no-install-recommends"}, missing...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	if _, err := install(); err == nil {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "apt-get", "update", "-q").CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %v: %s", err, lastLines(string(out), 3))
	}
	if out, err := install(); err != nil {
		return fmt.Errorf("apt-get install %s: %v: %s", strings.Join(missing, " "), err, lastLines(string(out), 3))
	}
	return nil
}
