// Package postgres implements the academy's storage interfaces
// (academy.Store) on PostgreSQL through pgx/v5 and pgxpool.
//
// Data is spread over one or more databases (shards). Shard 0 is also the
// catalog shard: it holds courses, lessons, live sessions and the seat
// ledger (seat counters and seat claims). Rows owned by a user (the account,
// sessions, refresh tokens, enrollments, progress, quiz attempts) live on shard
// academy.ShardOf(user_id, N). A seat is taken in one transaction on the
// catalog shard, so the seat limit holds whatever N is; see
// reference-app/README.md.
//
// Every operation waits at most Options.QueueWait for a connection of its
// shard's pool, then fails with an *academy.OverloadError (503 with
// Retry-After): under a slow database requests are shed instead of
// queueing without bound (see pool.go).
//
// Migrations are embedded and applied to every shard by Migrate, under a
// PostgreSQL advisory lock so that replicas starting together are safe.
package postgres
