package network

import (
	"strings"
	"testing"
)

// TestStaleRulePattern checks that the sweep recognizes exactly the
// rules natRule makes, as iptables -S prints them.
func TestStaleRulePattern(t *testing.T) {
	rule := natRule("10.222.231.172/30", "magawa16477")
	printed := "-A " + strings.Join(rule[:9], " ") + ` "` + rule[9] + `" ` + strings.Join(rule[10:], " ")
	m := staleRule.FindStringSubmatch(printed)
	if m == nil || m[1] != "10.222.231.172/30" || m[2] != "magawa16477" || m[3] != "magawa16477" {
		t.Fatalf("%q: %q", printed, m)
	}
	for _, other := range []string{
		`-A POSTROUTING -s 10.88.0.0/16 -j CNI-abc`,
		`-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`,
		`-A POSTROUTING -s 10.222.0.0/30 ! -o eth0 -m comment --comment "magawa do eth0" -j MASQUERADE`,
	} {
		if staleRule.MatchString(other) {
			t.Errorf("the sweep would take %q", other)
		}
	}
}
