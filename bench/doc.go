// Package bench measures the performance budget of SPEC.md against the
// built syncd binary and both simulators: peak RSS while mirroring large
// files, and wall time against the bound that the rate limit and the API
// latency set. Run with: go test -run '^$' -bench . ./bench/
//
// The figures are reported as benchmark metrics (MiB, ratios), never
// asserted by timed unit tests.
package bench
