package syscalls

import (
	"fmt"

	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
	"magawa/kernel/loader"
)

// Execve implements execve(2).
func Execve(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, execveat(t, unix.AT_FDCWD, a.Pointer(0), a.Pointer(1), a.Pointer(2), 0)
}

// Execveat implements execveat(2).
func Execveat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, execveat(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Pointer(3), int(a.Int(4)))
}

func execveat(t *kernel.Task, dirfd int32, pathAddr, argvAddr, envvAddr uintptr, flags int) error {
	if flags&^(unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW) != 0 {
		return unix.EINVAL
	}
	name, err := copyInPath(t, pathAddr)
	if err != nil {
		return err
	}
	if name == "" && flags&unix.AT_EMPTY_PATH == 0 {
		return unix.ENOENT
	}
	stack, _ := t.Rlimit(unix.RLIMIT_STACK)
	limit := loader.ArgLimit(stack.Cur)
	argv, err := copyInStrings(t, argvAddr, limit)
	if err != nil {
		return err
	}
	envv, err := copyInStrings(t, envvAddr, limit)
	if err != nil {
		return err
	}
	if err := loader.CheckArgs(argv, envv, name, limit); err != nil {
		return err
	}
	ctx := t.FileContext()
	start, err := startAt(t, ctx, dirfd, name)
	if err != nil {
		if err == errNoPathFile {
			return unix.EACCES
		}
		return err
	}
	target := kernel.ExecTarget{Start: start, Name: name, NoFollow: flags&unix.AT_SYMLINK_NOFOLLOW != 0}
	if dirfd != unix.AT_FDCWD && (name == "" || name[0] != '/') {
		// Linux: fs/exec.c, alloc_bprm(): the name a descriptor-relative
		// program is known by.
		target.ExecFn = fmt.Sprintf("/dev/fd/%d", dirfd)
		if name != "" {
			target.ExecFn += "/" + name
		}
	}
	if err := t.Execve(target, argv, envv); err != nil {
		return err
	}
	return nil
}

// copyInStrings reads a NULL-terminated array of string pointers (argv,
// envp), bounded by limit bytes in all. Linux: fs/exec.c, copy_strings().
func copyInStrings(t *kernel.Task, addr uintptr, limit uint64) ([]string, error) {
	if addr == 0 {
		return nil, nil
	}
	var out []string
	var total uint64
	for i := uintptr(0); ; i++ {
		var p uint64
		if err := copyInStruct(t, addr+8*i, &p); err != nil {
			return nil, err
		}
		if p == 0 {
			return out, nil
		}
		s, err := t.CopyInString(uintptr(p), loader.MaxArgStrlen)
		if err == unix.ENAMETOOLONG {
			return nil, unix.E2BIG
		}
		if err != nil {
			return nil, err
		}
		total += uint64(len(s)) + 1 + 8
		if total > limit {
			return nil, unix.E2BIG
		}
		out = append(out, s)
	}
}
