// Package bench measures magawa next to native execution: small static
// probe programs (probes/*.c) time their own loops, run natively and under
// `magawa do` on each platform. Run with `make bench`. Benchmarks measure;
// nothing here asserts a time.
package bench
