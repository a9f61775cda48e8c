// Package hostio holds what relaying a host descriptor needs that both
// sandboxes' terminal relays (package sandbox's console, package vm's
// terminal) share: a read that another goroutine can cut short.
//
// It has no state and no locks.
package hostio
