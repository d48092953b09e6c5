// Package lab starts and stops the local lab that a scenario with `target: lab` runs
// against: a throwaway PostgreSQL, Redis when the scenario asks for it, N academy replicas
// as child processes, and a fault proxy on every network edge:
//
//	loadgen ──▶ [edge proxy] ──▶ academy 1..N ──▶ [database proxy] ──▶ PostgreSQL
//	                                          └──▶ [cache proxy] ──▶ Redis
//
// The academy and PostgreSQL are both started through the academy CLI (cmd/academy), given
// as a command in Config.Academy: `academy postgres --dir D --port P --durable` runs a
// throwaway PostgreSQL and prints its DATABASE_URL, and `academy serve` runs each replica.
// cmd/loadgen passes the academy binary named by --academy, else the one next to its own
// executable (make build puts both in bin/), else the one in PATH. Redis is redis-server
// from PATH. The harness packages never import the reference app: they meet over HTTP and
// TCP, as a service and its load test do.
//
// Every child runs in its own process group with a parent-death signal, so none outlives
// the harness, even when the harness is killed with SIGKILL. Stop ends them all (gracefully
// while its context lasts, with SIGKILL once it is done), closes the proxies and leaves no
// port or directory behind. Ports are chosen free at run time, so two
// labs can run side by side.
//
// A Lab is also a chaos.Resolver: it turns scenario faults into injectors on its proxies
// (network.*), its processes (process.kill, process.pause) and the academy's admin fault
// API (http.*).
package lab
