package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// CreateAPIKey implements academy.APIKeys. The owner's row is locked while
// the active keys are counted, so concurrent creations keep the bound.
func (db *DB) CreateAPIKey(ctx context.Context, k academy.APIKey, hash []byte, maxActive int) error {
	return pgx.BeginFunc(ctx, db.userShard(k.UserID), func(tx pgx.Tx) error {
		// Lock first, count in a second statement: in READ COMMITTED a
		// statement's snapshot predates the lock it waited for, so a count in
		// the locking statement would miss the keys of the transaction it
		// waited on.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, k.UserID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return academy.ErrNotFound
		}
		if err != nil {
			return dbErr("lock user", err)
		}
		var active int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL`, k.UserID).Scan(&active); err != nil {
			return dbErr("count api keys", err)
		}
		if active >= maxActive {
			return academy.ErrTooManyAPIKeys
		}
		_, err = tx.Exec(ctx, `INSERT INTO api_keys (id, user_id, name, scope, prefix, key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			k.ID, k.UserID, k.Name, string(k.Scope), k.Prefix, hash, k.CreatedAt)
		return dbErr("save api key", err)
	})
}

const apiKeyColumns = `id, user_id, name, scope, prefix, created_at, revoked_at`

func scanAPIKey(r pgx.Row) (academy.APIKey, error) {
	var k academy.APIKey
	var scope string
	err := r.Scan(&k.ID, &k.UserID, &k.Name, &scope, &k.Prefix, &k.CreatedAt, &k.RevokedAt)
	k.Scope = academy.Scope(scope)
	return k, err
}

// APIKeys implements academy.APIKeys.
func (db *DB) APIKeys(ctx context.Context, userID uuid.UUID) ([]academy.APIKey, error) {
	rows, err := db.userShard(userID).Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, dbErr("list api keys", err)
	}
	keys, err := collect(rows, func(r pgx.Rows) (academy.APIKey, error) { return scanAPIKey(r) })
	return keys, dbErr("list api keys", err)
}

// RevokeAPIKey implements academy.APIKeys.
func (db *DB) RevokeAPIKey(ctx context.Context, userID, id uuid.UUID, now time.Time) ([]byte, error) {
	var hash []byte
	err := db.userShard(userID).QueryRow(ctx,
		`UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3) WHERE id = $1 AND user_id = $2 RETURNING key_hash`, id, userID, now).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, academy.ErrAPIKeyNotFound
	}
	return hash, dbErr("revoke api key", err)
}

// APIKeyByHash implements academy.APIKeys.
func (db *DB) APIKeyByHash(ctx context.Context, userID uuid.UUID, hash []byte) (academy.APIKey, academy.Role, error) {
	var role string
	var k academy.APIKey
	var scope string
	err := db.userShard(userID).QueryRow(ctx, `SELECT k.id, k.user_id, k.name, k.scope, k.prefix, k.created_at, k.revoked_at, u.role
		FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1 AND k.user_id = $2`, hash, userID).
		Scan(&k.ID, &k.UserID, &k.Name, &scope, &k.Prefix, &k.CreatedAt, &k.RevokedAt, &role)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, "", academy.ErrInvalidAPIKey
	}
	k.Scope = academy.Scope(scope)
	return k, academy.Role(role), dbErr("read api key", err)
}
