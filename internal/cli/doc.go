// Package cli is magawa's command line: global flags in the style of runc
// and runsc, and one file per verb. Verbs parse their flags and call
// internal/sandbox; they hold no state of their own.
package cli
