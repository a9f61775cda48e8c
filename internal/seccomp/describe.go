package seccomp

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Describe writes rules for people, one line each in the order the
// filter tries them, and a last line for every other call:
//
//	NR   CALL    ARGUMENTS                ACTION
//	56   clone   arg0 in {0x50f00, 0x4111} allow
//	*    others                            kill
func Describe(w io.Writer, rules []Rule, otherwise Action) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NR\tCALL\tARGUMENTS\tACTION")
	for _, r := range rules {
		checks := make([]string, len(r.Checks))
		for i, c := range r.Checks {
			checks[i] = c.String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.Nr, r.Name, strings.Join(checks, " && "), r.action())
	}
	fmt.Fprintf(tw, "*\tothers\t\t%s\n", otherwise)
	return tw.Flush()
}
