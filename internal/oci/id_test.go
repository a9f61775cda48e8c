package oci

import (
	"errors"
	"strings"
	"testing"
)

func TestValidID(t *testing.T) {
	for _, id := range []string{
		"a", "abc", "3f1e2b6c9a7d", "k8s_POD_nginx-1.2+3,4", "..a", "a..", ".hidden",
		strings.Repeat("x", 1024),
	} {
		if err := ValidID(id); err != nil {
			t.Errorf("ValidID(%q): %v", id, err)
		}
	}
	for _, id := range []string{
		"", ".", "..", "a/b", "/a", "a b", "a\x00", "a:b", "ä", "a\\b", "$(id)",
		strings.Repeat("x", 1025),
	} {
		err := ValidID(id)
		if err == nil {
			t.Errorf("ValidID(%q) accepted", id)
		} else if !errors.Is(err, ErrInvalidID) {
			t.Errorf("ValidID(%q): %v does not wrap ErrInvalidID", id, err)
		}
	}
}
