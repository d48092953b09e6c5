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
// Nothing of a lab is left behind, on any exit path. Every child runs in its own process
// group with a parent-death signal, and Stop ends them all (gracefully while its context
// lasts, with SIGKILL once it is done), closes the proxies and leaves no port or
// directory behind. Ports are chosen free at run time, so two labs can run side by side.
//
// When the harness dies without Stop (SIGKILL, a crash), a parent-death signal is not
// enough: it reaches only a direct child, so PostgreSQL's postmaster and backends (each in
// a process group of its own) depend on their `academy postgres` to clean up, and a
// paused (stopped) process can act on no signal until someone sends SIGCONT, which
// nothing does once its harness is gone. So the lab starts one guardian first (package
// guard, run as the hidden `academy guard`): a process in a group of its own, with no
// parent-death signal, whose stdin is a pipe the harness holds. The lab tells it each
// child's process group as it starts it (and forgets it once it has ended) and the
// database's directory. At EOF of the pipe, which the kernel delivers however the harness
// ends, the guardian sends SIGCONT then SIGKILL to every watched group and to the groups of
// their descendants, removes the database's directory with pgtemp.Remove (which also ends
// any PostgreSQL process still working there and frees its System V shared memory; the
// dynamic shared memory lives in files under the directory), and exits. Stop closes the
// pipe last, so the same guardian is the safety net of an interrupted Stop. One guardian
// per lab is the simplest design that is correct: a supervisor per child would need as
// many processes and the same protocol, and the harness itself can do nothing once killed.
//
// What an older run or version left (its guardian killed too, or none at all) is swept at
// the next start: `academy postgres --sweep <tmp>/loadlab-db-*` removes every cluster
// directory (also academy-pg-*) whose owners are dead, with its processes, stopped or not,
// and its shared memory. The harness is an owner of its lab's directory (--owner), so a
// sweep leaves it alone while the database is down between a kill and its restart.
//
// A killed child is restarted when restart-after says, counted from the kill: the lab does
// not wait for the killed processes to be reaped (the init process of a container may take
// seconds), only for them to be dead (a zombie holds no port and no memory); a restarted
// PostgreSQL clears the lock files of a dead postmaster. The restart is reported as the
// events process.started and process.ready (chaos.EventReporter).
//
// `cache: none` runs the academy with no cache at all (`academy serve --cache none`);
// `memory` with its in-process cache (bounded by `academy serve --cache-max-bytes`, 64 MiB by
// default: pass another through Config.AcademyArgs); `redis` with Redis behind the cache proxy,
// started with --maxmemory 256mb and --maxmemory-policy allkeys-lru (RedisMaxMemory,
// RedisMaxMemoryPolicy), so that no load can grow it without bound; `redis-cluster` with a
// 3-node Redis Cluster (RedisClusterNodes, internal/rediscluster) that the replicas reach
// directly (its clients follow the nodes' own addresses: no proxy, so no network fault on
// it), and whose nodes process faults on the cache kill or pause (mode one by default).
//
// With db-replicas N (Config.DBReplicas), `academy postgres --replicas N` also runs N
// streaming-replication hot standbys of the database, which the academy replicas read from
// (--replica-url); database.replica-lag pauses their WAL replay.
//
// With tls (Config.TLS), the lab makes a throwaway CA and a server certificate for
// 127.0.0.1, ::1 and localhost (internal/certs, ECDSA P-256) in a loadlab-tls-* directory
// that Stop removes (the guardian too, if the harness dies), and starts the replicas with
// `academy serve --tls-cert --tls-key` (TLS 1.3). The edge proxy is a TCP proxy, so TLS
// passes through it untouched and its network faults act on the encrypted stream; URL is
// https, CACert is the CA its clients trust, and the lab's own admin calls (seed, http.*
// faults) trust it too.
//
// A Lab is also a chaos.Resolver: it turns scenario faults into injectors on its proxies
// (network.*), its processes (process.kill, process.pause) and the academy's admin fault
// API (http.*).
package lab
