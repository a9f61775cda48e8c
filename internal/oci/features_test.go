package oci

import (
	"encoding/json"
	"os/exec"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

func TestFeatures(t *testing.T) {
	f := Features()
	if f.OCIVersionMin != "1.0.0" || f.OCIVersionMax != specs.Version {
		t.Errorf("versions %s..%s", f.OCIVersionMin, f.OCIVersionMax)
	}
	// What is listed is accepted as options, never taken for data.
	for _, o := range f.MountOptions {
		p, err := parseMountOptions([]string{o})
		if err != nil || len(p.data) != 0 {
			t.Errorf("listed option %q: data %q, error %v", o, p.data, err)
		}
	}
	for _, name := range f.Linux.Capabilities {
		if _, ok := capabilityBits[name]; !ok {
			t.Errorf("listed capability %q unknown", name)
		}
	}
	if f.Linux.Capabilities[0] != "CAP_CHOWN" || f.Linux.Capabilities[40] != "CAP_CHECKPOINT_RESTORE" {
		t.Errorf("capabilities not in numeric order: %q", f.Linux.Capabilities)
	}
	for _, ns := range f.Linux.Namespaces {
		s := validSpec()
		s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.LinuxNamespaceType(ns)}}
		s.Hostname, s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = "", nil, nil
		if ns == "user" {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{Size: 1}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{Size: 1}}
		}
		if err := Validate(s, bundleDir(t)); err != nil {
			t.Errorf("listed namespace %q refused: %v", ns, err)
		}
	}
	if l := f.Linux; *l.Seccomp.Enabled || *l.Apparmor.Enabled || *l.Selinux.Enabled || *l.MountExtensions.IDMap.Enabled {
		t.Errorf("claims seccomp, AppArmor, SELinux or ID-mapped mounts: %+v", l)
	}
}

// TestFeaturesCoverRunc checks that magawa recognises what runc does,
// but for what it refuses on purpose.
func TestFeaturesCoverRunc(t *testing.T) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		skip(t, "needs runc (apt-get install runc) to compare with")
	}
	out, err := exec.Command(runc, "features").Output()
	if err != nil {
		skip(t, "runc features: %v (needs runc 1.1 or later)", err)
	}
	var theirs features.Features
	if err := json.Unmarshal(out, &theirs); err != nil {
		t.Fatal(err)
	}
	ours := Features()
	missing := func(what string, theirs, ours []string, except ...string) {
		have := map[string]bool{}
		for _, s := range append(ours, except...) {
			have[s] = true
		}
		for _, s := range theirs {
			if !have[s] {
				t.Errorf("%s: runc has %q, magawa has not", what, s)
			}
		}
	}
	missing("hooks", theirs.Hooks, ours.Hooks)
	// Refused on purpose (mounts.go); "acl" and "noacl" runc before 1.2
	// took for MS_POSIXACL, and later for file-system data, as here.
	missing("mountOptions", theirs.MountOptions, ours.MountOptions,
		"nosymfollow", "rnosymfollow", "remount", "idmap", "ridmap", "acl", "noacl")
	missing("namespaces", theirs.Linux.Namespaces, ours.Linux.Namespaces)
	missing("capabilities", theirs.Linux.Capabilities, ours.Linux.Capabilities)
}
