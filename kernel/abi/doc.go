// Package abi holds Linux ABI structures and limits that
// golang.org/x/sys/unix does not define in the kernel's own layout, and
// the helper that views such structures as bytes for copying to and from
// application memory. No locks.
package abi
