package postgres

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// pool is one shard's connection pool behind a wait budget. pgxpool has no
// acquire time-out: a request waits for a busy pool as long as its context
// lets it, so under a slow database the queue of waiting requests, and
// their latency, grows without bound. Every operation of pool acquires its
// connection waiting at most wait, runs the statement with the caller's
// context and gives the connection back when it is done with it: Exec and
// CopyFrom on return, Rows on Close or when Next reports false, Row after
// Scan, Tx after Commit or Rollback, a Conn from Acquire on Release.
//
// When no connection came within wait (and the caller's context is still
// live) the operation fails with an *academy.OverloadError (queue
// academy.QueueDB), which the HTTP layer answers with 503 and Retry-After.
// The budget covers the whole acquisition: the wait for a busy connection,
// and also dialing a new one and pgxpool's liveness ping of a connection
// idle for over a second. A dial or a ping cut short by the budget goes on
// in the background and its connection joins the pool.
//
// pool is safe for concurrent use; the Rows, Row and Tx it returns are not,
// like pgx's.
type pool struct {
	down  error // set: every operation fails with it (no database behind; see downPool)
	p     *pgxpool.Pool
	wait  time.Duration // < 0: no budget, as long as the context allows
	sheds atomic.Int64  // acquisitions given up after wait
}

// errQueueWait is the cause of an acquisition's context that ran out of budget.
var errQueueWait = errors.New("connection queue wait budget exceeded")

// acquire takes a connection from the pool within the wait budget.
func (p *pool) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	if p.down != nil {
		return nil, p.down
	}
	if p.wait < 0 {
		return p.p.Acquire(ctx)
	}
	actx, cancel := context.WithTimeoutCause(ctx, p.wait, errQueueWait)
	defer cancel()
	c, err := p.p.Acquire(actx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil && errors.Is(context.Cause(actx), errQueueWait) {
		p.sheds.Add(1)
		return nil, &academy.OverloadError{Queue: academy.QueueDB, Wait: p.wait}
	}
	return c, err
}

// Acquire returns a connection taken within the wait budget; the caller
// must Release it.
func (p *pool) Acquire(ctx context.Context) (*pgxpool.Conn, error) { return p.acquire(ctx) }

// Exec runs sql on a connection taken within the wait budget.
func (p *pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer c.Release()
	return c.Exec(ctx, sql, args...)
}

// Query runs sql on a connection taken within the wait budget; the
// connection goes back to the pool when the rows are closed or read to the
// end. On error the rows returned hold the error, as pgx's do.
func (p *pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return errRows{err}, err
	}
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		c.Release()
		return errRows{err}, err
	}
	return &poolRows{Rows: rows, c: c}, nil
}

// QueryRow runs sql on a connection taken within the wait budget; the
// connection goes back to the pool after Scan, which the caller must call.
func (p *pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c, err := p.acquire(ctx)
	if err != nil {
		return errRow{err}
	}
	return &poolRow{r: c.QueryRow(ctx, sql, args...), c: c}
}

// Begin starts a transaction on a connection taken within the wait budget;
// the connection goes back to the pool after Commit or Rollback.
func (p *pool) Begin(ctx context.Context) (pgx.Tx, error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		c.Release()
		return nil, err
	}
	return &poolTx{Tx: tx, c: c}, nil
}

// CopyFrom copies rows into table on a connection taken within the wait
// budget.
func (p *pool) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Release()
	return c.CopyFrom(ctx, table, columns, src)
}

// Ping checks the database. It waits for a connection as long as ctx
// allows, without the budget: a busy pool is no sign of a dead database,
// and readiness probes must not be shed.
func (p *pool) Ping(ctx context.Context) error { return p.p.Ping(ctx) }

// Stat returns the pool's statistics.
func (p *pool) Stat() *pgxpool.Stat { return p.p.Stat() }

// Close closes the pool.
func (p *pool) Close() { p.p.Close() }

// poolRows releases its connection once, when the rows end.
type poolRows struct {
	pgx.Rows
	c *pgxpool.Conn
}

// releaseOnce gives *c back to its pool, the first time only.
func releaseOnce(c **pgxpool.Conn) {
	if *c != nil {
		(*c).Release()
		*c = nil
	}
}

func (r *poolRows) Close() {
	r.Rows.Close()
	releaseOnce(&r.c)
}

func (r *poolRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *poolRows) Scan(dest ...any) error {
	err := r.Rows.Scan(dest...)
	if err != nil {
		r.Close()
	}
	return err
}

func (r *poolRows) Values() ([]any, error) {
	v, err := r.Rows.Values()
	if err != nil {
		r.Close()
	}
	return v, err
}

// poolRow releases its connection after Scan.
type poolRow struct {
	r pgx.Row
	c *pgxpool.Conn
}

func (r *poolRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	releaseOnce(&r.c)
	return err
}

// poolTx releases its connection once, after Commit or Rollback (pgx.BeginFunc
// calls Rollback after Commit).
type poolTx struct {
	pgx.Tx
	c *pgxpool.Conn
}

func (tx *poolTx) Commit(ctx context.Context) error {
	err := tx.Tx.Commit(ctx)
	releaseOnce(&tx.c)
	return err
}

func (tx *poolTx) Rollback(ctx context.Context) error {
	err := tx.Tx.Rollback(ctx)
	releaseOnce(&tx.c)
	return err
}

// errRows are the rows of a query that failed before it ran.
type errRows struct{ err error }

func (errRows) Close()                                       {}
func (e errRows) Err() error                                 { return e.err }
func (errRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (errRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (errRows) Next() bool                                   { return false }
func (e errRows) Scan(...any) error                          { return e.err }
func (e errRows) Values() ([]any, error)                     { return nil, e.err }
func (errRows) RawValues() [][]byte                          { return nil }
func (errRows) Conn() *pgx.Conn                              { return nil }
func (errRows) TypeMap() *pgtype.Map                         { return nil }

// errRow is the row of a query that failed before it ran.
type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

var (
	_ pgx.Rows = (*poolRows)(nil)
	_ pgx.Rows = errRows{}
	_ pgx.Row  = (*poolRow)(nil)
	_ pgx.Row  = errRow{}
	_ pgx.Tx   = (*poolTx)(nil)
)
