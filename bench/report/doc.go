// Package report renders a benchmark run's results (bench/suite) as
// docs/benchmarks.md, a Markdown page (the project's aims and where
// magawa stands against each, then one table per group of cases: each
// runtime's median with its spread, and magawa's ratios to runsc and to
// native), and docs/benchmarks.svg, a bar chart of those ratios drawn
// here, without plotting libraries.
package report
