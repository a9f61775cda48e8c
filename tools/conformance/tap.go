package conformance

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// TAP is what one validation program's output (Test Anything Protocol,
// version 13, as github.com/mndrix/tap-go writes it) amounts to.
type TAP struct {
	Pass int // "ok" lines without a SKIP directive
	Fail int // "not ok" lines without a TODO directive
	Skip int // "ok ... # SKIP" (and "not ok ... # SKIP"), and "not ok ... # TODO"
	// Errors counts the failures reported as a YAML block with an
	// "error" that no test line claims (included in Fail).
	Errors int

	// Plan is the N of the "1..N" line (the sum over the streams of a
	// program that prints several), -1 if there was none. SkipAll holds
	// the reason of a "1..0 # SKIP reason" plan.
	Plan    int
	SkipAll string
	// BailOut holds the reason of a "Bail out!" line, if there was one.
	BailOut string
	// Failures are the "not ok" tests, with their YAML diagnostics.
	Failures []Failure
	// Problems are what is wrong with the stream itself (a missing plan,
	// a plan that does not match the tests run, a bail out); a run with
	// problems counts one more failure (Outcome.Failed).
	Problems []string
}

// Failure is one "not ok" test, or an error block no test line claimed
// (Num 0).
type Failure struct {
	Num         int
	Description string
	// Diagnostic is the test's YAML block (tap-go writes JSON), without
	// its indentation, and any "# " diagnostic lines after the test.
	Diagnostic string
}

// Inner returns the "not ok" lines of the runtimetest output the
// diagnostic carries: the programs that run runtimetest inside the
// container fail one test when any of its own tests fails, and put its
// TAP in the "stdout" of their diagnostic.
func (f *Failure) Inner() []string {
	var m map[string]any // the first block; "# " lines may follow it
	if json.NewDecoder(strings.NewReader(f.Diagnostic)).Decode(&m) != nil {
		return nil
	}
	out, _ := m["stdout"].(string)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "not ok") {
			lines = append(lines, l)
		}
	}
	if e, _ := m["error"].(string); e != "" {
		lines = append(lines, "error: "+strings.TrimSpace(e))
	}
	if e, _ := m["stderr"].(string); strings.TrimSpace(e) != "" {
		lines = append(lines, "stderr: "+lastLine(e))
	}
	return lines
}

// Tests is the number of test lines seen.
func (t *TAP) Tests() int { return t.Pass + t.Fail + t.Skip - t.Errors }

var (
	testLine = regexp.MustCompile(`^(not ok|ok)\b\s*([0-9]+)?\s*(?:-\s*)?(.*)$`)
	planLine = regexp.MustCompile(`^1\.\.([0-9]+)\s*(?:#\s*(.*))?$`)
)

// ParseTAP reads a TAP stream. Lines it does not understand (the
// programs' stray output) are ignored, as TAP consumers do.
func ParseTAP(r io.Reader) (*TAP, error) {
	t := &TAP{Plan: -1}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	last := -1         // the index of the failure that diagnostics attach to
	afterTest := false // the previous line of TAP was a test line
	inYAML, yamlAfterTest := false, false
	var yaml strings.Builder
	// An error block that no test line claims: runtime-tools' lifecycle
	// programs (hooks, poststart, ...) report their failure as a YAML
	// block with an "error" and no "not ok" line, then plan 1..0. Such a
	// block is a failure unless a test line follows it (the programs that
	// run runtimetest print its output before their "ok"/"not ok").
	var pending *Failure // a block not after a test line; failure if Description != ""
	flushPending := func() {
		if pending != nil && pending.Description != "" {
			t.Fail++
			t.Errors++
			t.Failures = append(t.Failures, *pending)
		}
		pending = nil
	}
	// Programs that validate several containers print one stream each,
	// every one with its "TAP version" line and plan: each stream's plan
	// is checked against its own tests.
	plans, sPlans, sPlan, sStart := 0, 0, 0, 0
	endStream := func() {
		flushPending()
		n := t.Tests() - sStart
		switch {
		case sPlans == 0 && n > 0:
			t.Problems = append(t.Problems, fmt.Sprintf("no plan (%d tests ran)", n))
		case sPlans > 1:
			t.Problems = append(t.Problems, fmt.Sprintf("%d plans in one TAP stream", sPlans))
		case sPlans == 1 && sPlan != n:
			t.Problems = append(t.Problems, fmt.Sprintf("planned %d tests, %d ran", sPlan, n))
		}
		sPlans, sPlan, sStart = 0, 0, t.Tests()
	}
	for sc.Scan() {
		line := sc.Text()
		if inYAML {
			trimmed := strings.TrimSpace(line)
			if trimmed == "..." {
				inYAML = false
				// runtime-tools' RuntimeInsideValidate prints the block
				// with runtimetest's output ("stdout") before its test
				// line, against TAP's order: it belongs to the next line.
				before := !yamlAfterTest || hasKey(yaml.String(), "stdout")
				switch {
				case !before && last >= 0:
					t.Failures[last].Diagnostic += yaml.String()
				case before:
					flushPending()
					desc, _, _ := strings.Cut(yamlError(yaml.String()), "\n")
					pending = &Failure{Description: desc, Diagnostic: yaml.String()}
				}
				yaml.Reset()
				continue
			}
			yaml.WriteString(strings.TrimPrefix(line, "  "))
			yaml.WriteByte('\n')
			continue
		}
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			if strings.TrimSpace(line) == "---" {
				inYAML, yamlAfterTest = true, afterTest
				afterTest = false
			}
			continue
		}
		afterTest = false
		switch {
		case strings.HasPrefix(line, "TAP version"):
			if sPlans > 0 || t.Tests() > sStart {
				endStream()
			}
			continue
		case strings.HasPrefix(line, "Bail out!"):
			t.BailOut = strings.TrimSpace(strings.TrimPrefix(line, "Bail out!"))
			if t.BailOut == "" {
				t.BailOut = "(no reason given)"
			}
			last = -1
			continue
		case strings.HasPrefix(line, "#"):
			if last >= 0 {
				t.Failures[last].Diagnostic += line + "\n"
			}
			continue
		}
		if m := planLine.FindStringSubmatch(line); m != nil {
			flushPending()
			n, _ := strconv.Atoi(m[1])
			plans++
			sPlans++
			sPlan = n
			if t.Plan < 0 {
				t.Plan = 0
			}
			t.Plan += n
			if word, reason, _ := strings.Cut(strings.TrimSpace(m[2]), " "); n == 0 && strings.EqualFold(word, "skip") {
				t.SkipAll = strings.TrimSpace(reason)
				if t.SkipAll == "" {
					t.SkipAll = "(no reason given)"
				}
			}
			last = -1
			continue
		}
		m := testLine.FindStringSubmatch(line)
		if m == nil {
			last = -1
			continue
		}
		ok := m[1] == "ok"
		num := t.Tests() + 1
		if m[2] != "" {
			num, _ = strconv.Atoi(m[2])
		}
		desc, directive := splitDirective(m[3])
		last = -1
		afterTest = true
		orphan := pending
		pending = nil
		switch {
		case directive == "skip":
			t.Skip++
		case directive == "todo" && !ok:
			t.Skip++
		case ok:
			t.Pass++
		default:
			t.Fail++
			f := Failure{Num: num, Description: desc}
			if orphan != nil { // the block before the line
				f.Diagnostic = orphan.Diagnostic
			}
			t.Failures = append(t.Failures, f)
			last = len(t.Failures) - 1
		}
	}
	if err := sc.Err(); err != nil {
		return t, err
	}
	if inYAML && yamlAfterTest && last >= 0 {
		t.Failures[last].Diagnostic += yaml.String()
	}
	flushPending()
	switch {
	case t.BailOut != "":
		t.Problems = append(t.Problems, "bail out: "+t.BailOut)
	case plans == 0 && t.Tests() == 0:
		t.Problems = append(t.Problems, "no TAP output")
	default:
		endStream()
	}
	return t, nil
}

// yamlError is the "error" of a diagnostic block (tap-go writes JSON),
// "" if it has none or an empty one.
func yamlError(block string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(block), &m); err == nil {
		s, _ := m["error"].(string)
		return strings.TrimSpace(s)
	}
	if sub := yamlErrorRE.FindStringSubmatch(block); sub != nil {
		return strings.TrimSpace(sub[1])
	}
	return ""
}

// hasKey reports whether a JSON diagnostic block has the key.
func hasKey(block, key string) bool {
	var m map[string]any
	if json.Unmarshal([]byte(block), &m) != nil {
		return false
	}
	_, ok := m[key]
	return ok
}

var yamlErrorRE = regexp.MustCompile(`(?m)^\s*"?error"?:\s*"?([^"\n]+)`)

// splitDirective splits "description # SKIP reason" into the description
// (or the reason, when the description is empty) and the lower-cased
// directive ("skip", "todo" or "").
func splitDirective(s string) (desc, directive string) {
	i := strings.LastIndex(s, "#")
	if i < 0 {
		return strings.TrimSpace(s), ""
	}
	rest := strings.TrimSpace(s[i+1:])
	word, reason, _ := strings.Cut(rest, " ")
	switch w := strings.ToLower(word); {
	case strings.HasPrefix(w, "skip"):
		directive = "skip"
	case w == "todo":
		directive = "todo"
	default:
		return strings.TrimSpace(s), ""
	}
	desc = strings.TrimSpace(s[:i])
	if desc == "" {
		desc = strings.TrimSpace(reason)
	}
	return desc, directive
}
