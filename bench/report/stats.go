package report

import (
	"math"
	"sort"

	"magawa/bench/suite"
)

// Summary is a cell's samples of one metric in two numbers: the median,
// and the spread, half the samples' range relative to the median (0 for
// one sample).
type Summary struct {
	N      int
	Median float64
	Spread float64
}

// Summarize summarizes vs; N is 0 when there are none.
func Summarize(vs []float64) Summary {
	if len(vs) == 0 {
		return Summary{}
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	spread := 0.0
	if med != 0 {
		spread = (s[len(s)-1] - s[0]) / 2 / math.Abs(med)
	}
	return Summary{N: len(s), Median: med, Spread: spread}
}

// median is the median of metric m of runtime rt in case c, and whether
// there is one.
func median(c *suite.CaseResult, rt string, m int) (float64, bool) {
	cell := c.Cells[rt]
	if cell == nil {
		return 0, false
	}
	s := Summarize(cell.Values(m))
	return s.Median, s.N > 0
}

// costRatio is how much more a costs than b: a÷b for times and sizes,
// b÷a for rates, so that below 1 is better for a either way.
func costRatio(a, b float64, higher bool) (float64, bool) {
	if a <= 0 || b <= 0 {
		return 0, false
	}
	if higher {
		return b / a, true
	}
	return a / b, true
}
