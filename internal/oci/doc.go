// Package oci reads an OCI bundle's config.json, checks it against the
// runtime specification (config.md, config-linux.md) and translates it
// into what magawa runs: a sandbox.Config for the sandbox and a Host for
// what the runtime itself does around it (namespaces, cgroup, hooks).
//
// The checks follow the specification's MUSTs and the rules runc
// enforces (libcontainer/configs/validate and specconv), and are no
// stricter than runc on what Docker, podman and containerd send: a
// bundle runc accepts and magawa cannot honour is refused by ToSandbox
// with the reason ("file system type "nfs" is not supported"), never
// run differently without a word. Settings that are accepted but have
// no effect in a sandbox (an AppArmor profile, a seccomp profile for a
// kernel the application never reaches) are listed by Warnings so the
// CLI can log them.
//
// Errors name the field as a JSON path from the top of the file,
// "config.json: mounts[3].source "/x": no such file or directory", and
// wrap ErrInvalid.
//
// DefaultSpec is what `magawa spec` writes (runc's default, with
// magawa's name) and Features what `magawa features` prints.
//
// The package holds no state and no locks.
package oci
