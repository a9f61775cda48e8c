package syscalldoc

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"magawa/kernel/syscalls"
)

// TestDocUpToDate fails when docs/syscalls.md no longer matches the
// system-call table, so that the compatibility table users read cannot
// drift from what the kernel does.
func TestDocUpToDate(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "syscalls.md")
	have, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("docs/syscalls.md does not exist yet; create it with `go run ./tools/syscalldoc/cmd` from the repository root")
	}
	if err != nil {
		t.Fatal(err)
	}
	if want := Render(syscalls.Table()); string(have) != want {
		t.Errorf("docs/syscalls.md is out of date with kernel/syscalls/table_amd64.go; " +
			"run `go run ./tools/syscalldoc/cmd` from the repository root")
	}
}
