package main

import (
	"fmt"
	"os"
	"path/filepath"

	"magawa/kernel/syscalls"
	"magawa/tools/syscalldoc"
)

func main() {
	path := "docs/syscalls.md"
	switch len(os.Args) {
	case 1:
	case 2:
		path = os.Args[1]
	default:
		fmt.Fprintln(os.Stderr, "usage: syscalldoc [path]")
		os.Exit(2)
	}
	if err := write(path, syscalldoc.Render(syscalls.Table())); err != nil {
		fmt.Fprintln(os.Stderr, "syscalldoc:", err)
		os.Exit(1)
	}
}

// write replaces path with data through a temporary file, so that an
// interrupted run never leaves half a document.
func write(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".syscalls-*.md")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
