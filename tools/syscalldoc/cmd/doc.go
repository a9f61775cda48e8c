// Command syscalldoc writes docs/syscalls.md from the kernel's x86-64
// system-call table. Run it from the repository root after changing a row
// of kernel/syscalls/table_amd64.go:
//
//	go run ./tools/syscalldoc/cmd [path]
//
// path defaults to docs/syscalls.md.
package main
