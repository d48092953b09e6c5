// Command loadbench measures what a request costs loadgen's generator beside the fastest load
// tools, in one sitting, on one minimal net/http server on loopback: the benchmark of issue 12.
//
//	go run ./cmd/loadbench -loadgen bin/loadgen -vegeta bin/vegeta -bombardier bin/bombardier
//	go run ./cmd/loadbench -soak 10m -soak-rate 2000        the memory soak of loadgen alone
//
// The target is a child process of its own, pinned to core 0 (taskset); each generator is a
// child process pinned to core 1, with 64 connections, for 10 s, once at 5000 requests/s and
// once as fast as it goes: loadgen (driven as a user drives it, `loadgen run` of a generated
// scenario with --target, once per transport when loadgen run has a --transport flag), the
// vegeta CLI, bombardier (fasthttp client) and wrk (C, epoll, no fixed rate). A tool that is not
// installed is reported and its row skipped. CPU is user+system time and RSS the peak resident
// set of the generator's process, both from the kernel's accounting of that child (wait4
// rusage), so the target's work is never counted. Each tool's binary is dropped from the page
// cache before each run (see evictCache): a binary written just before is mapped larger.
// Requests per second are the requests completed divided by the configured duration.
//
// With -rounds N every tool runs N times at each rate, the tools taking turns (all at the
// fixed rate, then all at their maximum, then the next round), so that a shared machine's
// slow minutes do not fall on one tool: the table gives each tool's medians, and each ratio is
// the median of the rounds' ratios, each between two runs of the same round (the rounds' own
// are printed beside it). make bench runs 3 rounds.
//
// The output is the table of issue 12 and the ratios its goals name, with the machine, the date
// and the load average before and after (the figures mean little on a busy machine). They are
// reports, never pass/fail assertions.
//
// With -soak, loadbench runs only the memory soak: loadgen alone at -soak-rate for -soak,
// sampling once a -soak-every its RSS (from /proc) and, from its --metrics-addr endpoint, its
// live heap and goroutine count when its Prometheus registry has the Go collector (n/a when it
// has none), and compares the RSS at the first and the last sample.
package main
