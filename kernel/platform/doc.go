// Package platform defines how the application kernel runs application
// code: an AddressSpace the kernel fills with ranges of its memory file,
// and a Context that runs one application thread until it makes a system
// call or faults. Implementations live in sub-packages (ptrace) and
// register by name; nothing above this package knows which one is used.
//
// Locking: the registry is guarded by registryMu. Implementations document
// their own rules; the common one is that a Context and the address-space
// operations it performs are used from a single locked OS thread.
package platform
