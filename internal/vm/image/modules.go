package image

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// A kernel module in a kernel package's tree: its name (as modprobe
// names it, with underscores) and its path under lib/modules/VERSION.
type module struct {
	name    string
	path    string
	depends []string
	// group is when the agent loads it (Group*).
	group string
}

// moduleTree indexes the modules of one kernel version's directory
// (lib/modules/VERSION of an unpacked package) by name, and what the
// kernel has built in. A package unpacked with dpkg-deb has no
// modules.dep (depmod writes it at install), so dependencies are read
// from each module's .modinfo section, as depmod does.
type moduleTree struct {
	dir     string
	paths   map[string]string // name -> path relative to dir
	builtin map[string]bool
}

// moduleName is a module's name from its file name: the base without
// .ko (and a compression suffix), dashes as underscores.
func moduleName(file string) string {
	base := filepath.Base(file)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		base = strings.TrimSuffix(base, ext)
	}
	base = strings.TrimSuffix(base, ".ko")
	return strings.ReplaceAll(base, "-", "_")
}

func loadModuleTree(dir string) (*moduleTree, error) {
	t := &moduleTree{dir: dir, paths: map[string]string{}, builtin: map[string]bool{}}
	err := filepath.WalkDir(filepath.Join(dir, "kernel"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || !strings.Contains(d.Name(), ".ko") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		t.paths[moduleName(p)] = rel
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the kernel's modules: %w", err)
	}
	f, err := os.Open(filepath.Join(dir, "modules.builtin"))
	if err != nil {
		return nil, fmt.Errorf("the kernel's built-in modules: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			t.builtin[moduleName(line)] = true
		}
	}
	return t, sc.Err()
}

// modinfo reads the depends= field of a module's .modinfo section.
func modinfoDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		if strings.HasSuffix(path, ".ko") {
			return nil, err
		}
		return nil, fmt.Errorf("%s: compressed modules are not supported: %w", path, err)
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return nil, fmt.Errorf("%s: no .modinfo section", path)
	}
	data, err := s.Data()
	if err != nil {
		return nil, err
	}
	var deps []string
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			for _, d := range strings.Split(string(v), ",") {
				if d != "" {
					deps = append(deps, moduleName(d))
				}
			}
		}
	}
	return deps, nil
}

// resolve returns the modules to load for the wanted names, each after
// the modules it depends on. A wanted module the kernel has built in
// needs nothing; one it has neither built in nor as a module is
// reported in missing.
func (t *moduleTree) resolve(wanted []string) (order []module, missing []string, err error) {
	done := map[string]bool{}
	visiting := map[string]bool{}
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		if done[name] || t.builtin[name] {
			return nil
		}
		if visiting[name] {
			return fmt.Errorf("module dependency cycle: %s", strings.Join(append(chain, name), " -> "))
		}
		rel, ok := t.paths[name]
		if !ok {
			return fmt.Errorf("module %s (needed by %s) is not in the kernel package", name, strings.Join(chain, " -> "))
		}
		visiting[name] = true
		deps, err := modinfoDepends(filepath.Join(t.dir, rel))
		if err != nil {
			return err
		}
		sort.Strings(deps)
		for _, d := range deps {
			if err := visit(d, append(chain, name)); err != nil {
				return err
			}
		}
		visiting[name] = false
		done[name] = true
		order = append(order, module{name: name, path: rel, depends: deps})
		return nil
	}
	for _, name := range wanted {
		name = moduleName(name)
		if t.builtin[name] {
			continue
		}
		if _, ok := t.paths[name]; !ok {
			missing = append(missing, name)
			continue
		}
		if err := visit(name, nil); err != nil {
			return nil, nil, err
		}
	}
	return order, missing, nil
}
