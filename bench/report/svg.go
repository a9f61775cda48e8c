package report

import (
	"fmt"
	"html"
	"math"
	"strings"

	"magawa/bench/suite"
)

// The chart's geometry, in pixels. The labels' column is as wide as the
// longest label needs, at charWidth a character.
const (
	plotWidth = 520
	rightPad  = 40
	barHeight = 9
	rowGap    = 8
	groupGap  = 26
	charWidth = 6.6
)

// bar is one ratio of the chart.
type bar struct {
	ratio  float64
	series int
}

// series is one kind of bar: a magawa runtime against runsc or native.
type series struct {
	name  string
	color string
}

// SVG draws magawa's cost ratios (the tables' "÷ runsc" and "÷ native"
// columns) as horizontal bars on a logarithmic axis around 1: a bar to
// the left of the line is magawa doing better, to the right worse.
func SVG(res *suite.Results) string {
	var ss []series
	type ref struct{ magawa, other string }
	var refs []ref
	colors := [][2]string{{"#4c72b0", "#dd8452"}, {"#8fa8d6", "#eeb48f"}, {"#55a868", "#c44e52"}, {"#9dcfa9", "#df9a9c"}}
	k := 0
	for _, m := range res.Runtimes {
		if m.Kind != suite.Magawa || m.Skip != "" {
			continue
		}
		c := colors[k%len(colors)]
		k++
		if r := runscRef(res, m); r != "" {
			refs = append(refs, ref{m.Name, r})
			ss = append(ss, series{m.Name + " ÷ " + r, c[0]})
		}
		refs = append(refs, ref{m.Name, "native"})
		ss = append(ss, series{m.Name + " ÷ native", c[1]})
	}

	type row struct {
		label string
		bars  []bar
		group string
	}
	var rows []row
	lo, hi := 0.5, 2.0
	for i := range res.Cases {
		c := &res.Cases[i]
		for mi, metric := range c.Metrics {
			r := row{label: metric.Name, group: c.Group}
			for si, rf := range refs {
				a, ok1 := median(c, rf.magawa, mi)
				b, ok2 := median(c, rf.other, mi)
				if !ok1 || !ok2 {
					continue
				}
				if v, ok := costRatio(a, b, metric.Higher); ok {
					r.bars = append(r.bars, bar{v, si})
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
			if len(r.bars) > 0 {
				rows = append(rows, r)
			}
		}
	}
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(hi)))
	labelWidth := 200
	for _, r := range rows {
		labelWidth = max(labelWidth, int(charWidth*float64(len([]rune(r.label))))+16)
	}
	width := labelWidth + plotWidth + rightPad
	// The legend: as many entries a line as fit.
	var legend strings.Builder
	lx, ly := 8.0, 46.0
	for _, s := range ss {
		w := 24 + charWidth*float64(len([]rune(s.name)))
		if lx > 8 && lx+w > float64(width) {
			lx, ly = 8, ly+16
		}
		fmt.Fprintf(&legend, `<rect x="%.0f" y="%.0f" width="12" height="10" fill="%s"/><text x="%.0f" y="%.0f" class="legend">%s</text>`+"\n", lx, ly, s.color, lx+16, ly+9, esc(s.name))
		lx += w
	}
	topPad := int(ly) + 36
	x := func(v float64) float64 {
		return float64(labelWidth) + plotWidth*(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
	}

	var body strings.Builder
	y := float64(topPad)
	group := ""
	for _, r := range rows {
		if r.group != group {
			group = r.group
			y += groupGap / 2
			fmt.Fprintf(&body, `<text x="8" y="%.1f" class="group">%s</text>`+"\n", y, esc(titleCase(group)))
			y += groupGap / 2
		}
		h := float64(len(r.bars)*barHeight) + rowGap
		fmt.Fprintf(&body, `<text x="%d" y="%.1f" class="label" text-anchor="end">%s</text>`+"\n", labelWidth-8, y+h/2+3, esc(r.label))
		for i, b := range r.bars {
			by := y + rowGap/2 + float64(i*barHeight)
			x0, x1 := x(1), x(b.ratio)
			left := math.Min(x0, x1)
			fmt.Fprintf(&body, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s: %s</title></rect>`+"\n",
				left, by, math.Max(math.Abs(x1-x0), 1), barHeight-1, ss[b.series].color, esc(ss[b.series].name), ratio(b.ratio))
			tx, anchor := x1+3, "start"
			if b.ratio < 1 {
				tx, anchor = x1-3, "end"
			}
			fmt.Fprintf(&body, `<text x="%.1f" y="%.1f" class="value" text-anchor="%s">%s</text>`+"\n", tx, by+barHeight-1.5, anchor, ratio(b.ratio))
		}
		y += h
	}
	height := y + 30

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" font-family="sans-serif">`+"\n", width, height, width, height)
	b.WriteString(`<style>.label{font-size:12px;fill:#222}.value{font-size:9px;fill:#444}.group{font-size:13px;font-weight:bold;fill:#000}.axis{font-size:11px;fill:#555}.title{font-size:15px;font-weight:bold}.legend{font-size:12px;fill:#222}</style>` + "\n")
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	title := "magawa's cost relative to runsc and to native (below 1: magawa does better)"
	fmt.Fprintf(&b, `<text x="8" y="20" class="title">%s</text>`+"\n", esc(title))
	sub := res.Started.UTC().Format("2006-01-02") + ", " + res.Machine.CPU
	if res.Quick {
		sub += " — a --quick run, not the benchmarks"
	}
	fmt.Fprintf(&b, `<text x="8" y="36" class="axis">%s</text>`+"\n", esc(sub))
	b.WriteString(legend.String())
	// Decades, the line at 1, and their labels above and below.
	for v := lo; v <= hi*1.0001; v *= 10 {
		stroke, w := "#ddd", 1
		if math.Abs(v-1) < 1e-9 {
			stroke, w = "#333", 2
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.0f" stroke="%s" stroke-width="%d"/>`+"\n", x(v), topPad-6, x(v), y, stroke, w)
		for _, ty := range []float64{float64(topPad - 9), y + 14} {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" class="axis" text-anchor="middle">%s</text>`+"\n", x(v), ty, axisLabel(v))
		}
	}
	b.WriteString(body.String())
	if len(rows) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="label">no ratios: magawa or the runtimes it is compared with did not run</text>`+"\n", labelWidth, topPad+20)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func axisLabel(v float64) string {
	if v >= 1 {
		return fmt.Sprintf("%.0f×", v)
	}
	return fmt.Sprintf("%g×", v)
}

func esc(s string) string { return html.EscapeString(s) }
