// Command academy runs the TrendTactics Academy reference service.
//
//	academy serve      # HTTP API; with no database URL, on a throwaway PostgreSQL
//	academy migrate    # apply the embedded migrations to every shard
//	academy seed       # replace the data with the deterministic seed data set
//	academy postgres   # start a throwaway PostgreSQL, print DATABASE_URL=..., run until signalled
//
// The first SIGINT or SIGTERM starts a clean shutdown; a second SIGINT hurries it (the
// drain ends, a throwaway PostgreSQL is killed) but never skips the clean-up, and further
// signals change nothing: a parent-death SIGTERM may come twice. The hidden `academy
// guard` is the local lab's guardian (package chaos/lab/guard).
//
// See reference-app/README.md.
package main
