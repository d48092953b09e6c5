// Command academy runs the TrendTactics Academy reference service.
//
//	academy serve      # HTTP API; with no database URL, on a throwaway PostgreSQL
//	academy migrate    # apply the embedded migrations to every shard
//	academy seed       # replace the data with the deterministic seed data set
//	academy postgres   # start a throwaway PostgreSQL, print DATABASE_URL=..., run until signalled
//
// See reference-app/README.md.
package main
