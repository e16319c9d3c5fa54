// Package peerbench measures the most used Go WeChat SDK, silenceper/wechat
// (pinned in go.mod), doing the callback's work: one signed SCAN push of the
// riddle example answered with its text reply, in plaintext and safe mode. It is
// a module of its own so that the SDK and its dependencies (logrus, redis,
// memcache clients…) never enter the main module's go.mod; it reaches the main
// module's request signer through a replace directive, so both benchmarks are
// fed byte-identical requests.
//
// Run it with
//
//	cd local/peerbench && go test -run '^$' -bench . -benchmem
//
// or compare it with ours through `go run ./local/benchcmp` from the repo root.
package peerbench
