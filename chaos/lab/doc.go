// Package lab starts and stops the local lab that a scenario with `target: lab` runs
// against: a throwaway PostgreSQL, Redis when the scenario asks for it, N academy replicas
// as child processes, and a fault proxy on every network edge:
//
//	loadgen ──▶ [edge proxy] ──▶ academy 1..N ──▶ [database proxy] ──▶ PostgreSQL
//	                                          └──▶ [cache proxy] ──▶ Redis
//
// The academy is started through a command given in Config.Academy (cmd/loadgen passes its
// own executable with the hidden `academy` subcommand), because harness packages never
// import the reference app: they meet over HTTP and TCP, as a service and its load test do.
//
// Every child runs in its own process group with a parent-death signal, so none outlives
// the harness, even when the harness is killed with SIGKILL. Stop ends them all, closes the
// proxies and leaves no port or directory behind. Ports are chosen free at run time, so two
// labs can run side by side.
//
// A Lab is also a chaos.Resolver: it turns scenario faults into injectors on its proxies
// (network.*), its processes (process.kill, process.pause) and the academy's admin fault
// API (http.*).
package lab
