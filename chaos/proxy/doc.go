// Package proxy is loadlab's local TCP fault proxy: the lab puts one on every network edge
// (load generator → academy, academy → PostgreSQL, academy → Redis) and the chaos timeline
// injects network faults by adding and removing toxics on it at run time. Its design follows
// Shopify's toxiproxy.
//
// # Proxy
//
// New builds a proxy, Start listens (port 0 picks a free port; see Addr) and serves until
// Close or the end of the context given to Start. Each accepted connection is forwarded to
// an upstream chosen round robin; an upstream that refuses is skipped and the next one tried,
// so the share of a killed replica fails over to the others. SetUpstreams changes the
// upstreams of new connections; when none accepts, the client connection is closed. A close
// (FIN) from one peer is passed on as a half-close, a reset (RST) as a reset. Close ends every
// connection and waits for every goroutine.
//
// Without toxics a connection is two copy loops like io.CopyBuffer's, with pooled 32 KiB
// buffers (io.CopyBuffer itself hands a copy between two TCP sockets to splice(2) and could
// not notice a toxic added while it runs). Each chunk read checks, with two atomic loads,
// whether a toxic now covers its direction; if one does, the chunk goes to a writer goroutine
// that passes it down the chain of toxics active at that moment: a removed toxic stops acting
// on open connections at once, and data it held back is released.
//
// # Toxics
//
// A Toxic is a small type with one method, Pipe, that sees a chunk of one direction of one
// connection and passes it on with Stream.Write (after a delay, in pieces, cut short, or not
// at all). Optional behaviour is a second interface checked at run time: Stateful (state per
// connection and direction), Finisher (acts when a direction ends), Ender (ends connections on
// a timer, with or without data), Refuser (makes the proxy refuse new connections).
// ToxicSpec describes a toxic (NewToxic builds it; Proxy.AddToxic adds it). Its shared
// fields (name, direction, toxicity) are checked in spec.go; each kind has a file of its own
// (latency.go, bandwidth.go, ...) with its type, its Kind constant and the constructor that
// checks its parameters, and one line in the registry of kinds (kinds.go). Kinds lists them:
//
//	kind        params                 effect on each covered direction
//	latency     latency, jitter        every chunk is delayed by latency ± a uniform jitter, counted from
//	                                   when it arrived; chunks are pipelined, so throughput is kept
//	bandwidth   rate (bytes/s)         throughput is limited to rate, sent in pieces of rate/10 bytes
//	slow-close  delay                  when the source closes its side, the close is passed on after delay
//	timeout     timeout                blackhole: no data and no close passes (they are held, and delivered
//	                                   if the toxic is removed first); with timeout > 0 the connection is
//	                                   closed timeout after the toxic starts to apply to it
//	reset       timeout                the first chunk is dropped and timeout later (0: at once) the
//	                                   connection is reset: SO_LINGER 0 and close, so both peers get RST
//	                                   (clients see ECONNRESET)
//	limit-data  bytes                  bytes pass, then the connection is closed
//	down        (none)                 new connections are refused (the listener is closed, so clients get
//	                                   ECONNREFUSED) and open connections are closed; the listener comes
//	                                   back on the same address when the toxic is removed
//
// A toxic "starts to apply" to a connection when it is added or when the connection is
// accepted, whichever is later.
//
// Direction is Upstream (client → server), Downstream (server → client, the default, as in
// toxiproxy) or Both (each direction on its own: a latency of 50 ms in Both adds 100 ms to a
// round trip). The closes of timeout, reset, limit-data and down end the whole connection;
// down ignores Direction.
//
// Toxicity is the share of connections a toxic covers (0 < toxicity <= 1; 0 in a spec means
// 1). Whether a toxic covers a connection is decided once per connection and toxic, by a
// counter-based random generator (SplitMix64) keyed by the proxy seed (WithSeed), the order in
// which the toxic was added and the order in which the connection was accepted: the same run
// covers the same connections. A down toxic with toxicity below 1 cannot close the listener
// for some clients only: it closes the covered connections as soon as they are accepted.
// Connections a toxic does not cover flow unchanged.
//
// # Metrics
//
// With WithRegisterer the proxy exports, labelled proxy=<name>:
// loadlab_proxy_connections_total, loadlab_proxy_active_connections,
// loadlab_proxy_dial_errors_total, loadlab_proxy_active_toxics and
// loadlab_proxy_bytes_total{direction="upstream"|"downstream"}. Several proxies share one
// registry.
//
// # Scenario faults
//
// The chaos timeline maps network faults to toxics: network.delay {latency, jitter} →
// latency; network.bandwidth {rate} → bandwidth; network.down → down; network.reset → reset;
// network.timeout → timeout; network.slow-close → slow-close; network.limit-data → limit-data.
package proxy
