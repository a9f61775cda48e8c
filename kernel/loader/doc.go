// Package loader owns what execve puts into a fresh address space: the
// segments of an x86-64 ELF executable (LoadELF) and of its program
// interpreter, the dynamic linker (LoadInterpreter), the vDSO of package
// vdso (MapVDSO), the initial process stack of argument and environment
// strings, auxiliary vector, argv, envp and argc (ImageAuxv, SetupStack,
// WriteStack), and the recognition of "#!" scripts (ParseInterpreterLine,
// IsELF).
//
// Exec of an ELF file is, in this order: LoadELF; if Image.Interp is set,
// open that path and LoadInterpreter; MapVDSO; map the stack; WriteStack
// with ImageAuxv's entries and the caller's; start at Image.StartPC.
//
// It mirrors Linux's fs/binfmt_elf.c, fs/binfmt_script.c and the argument
// handling of fs/exec.c, with the departures written beside the code. It
// does not open files, resolve paths or know about the VFS: the caller
// hands it an io.ReaderAt and the file's size, and opens an interpreter
// (PT_INTERP or "#!") itself before calling the loader again. It reaches
// application memory only through the Memory interface, which the
// kernel's mm.MM implements.
//
// Everything it reads is untrusted: headers are checked against the file
// size and the application address-space bounds of package platform before
// anything is mapped, contents are copied in bounded chunks, and no header
// value decides how much memory the kernel allocates.
//
// Locking: the package has no state and no locks. Memory implementations
// do their own locking; a caller must not run two loads into the same
// address space at once.
package loader
