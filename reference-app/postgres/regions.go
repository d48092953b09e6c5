package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// Ways to shard the rows owned by a user (Options.ShardBy).
const (
	// ShardByUser puts them on academy.ShardOf(user_id, N): found from the id alone.
	ShardByUser = "user"
	// ShardByRegion puts them on academy.ShardOfRegion(region, user_id, N), the guide's
	// hash(region + user_id) % num_shards. The id alone no longer says where a user lives,
	// so the catalog shard keeps a directory, user_regions (user_id → region), written
	// with the account and read once per user and process (then remembered: a user's region
	// never changes).
	ShardByRegion = "region"
)

// errNoSuchUser answers the operations on the shard of a user the directory does not know.
var errNoSuchUser = pgx.ErrNoRows

// errDirectory answers the operations on the shard of a user whose directory entry could
// not be read: they fail as the database being unavailable (503), never on a wrong shard.
var errDirectory = errors.New("user directory unreachable")

// regionShard returns the shard of user id by the directory, or -1 with the error: ErrNoRows
// for a user it does not know.
func (db *DB) regionShard(id uuid.UUID) (int, error) {
	if i, ok := db.regions.Load(id); ok {
		return i.(int), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var region string
	if err := db.catalog().QueryRow(ctx, `SELECT region FROM user_regions WHERE user_id = $1`, id).Scan(&region); err != nil {
		return -1, err
	}
	i := academy.ShardOfRegion(region, id, len(db.shards))
	db.regions.Store(id, i)
	return i, nil
}

// downPool returns a pool whose every operation fails with err.
func downPool(err error) *pool {
	if errors.Is(err, pgx.ErrNoRows) {
		return &pool{down: errNoSuchUser}
	}
	return &pool{down: &academy.Error{Kind: academy.KindUnavailable, Code: "database_unavailable", Message: "find the user's shard", Err: errors.Join(errDirectory, err)}}
}

// createDirectoryEntry records a new user's region on the catalog shard (region sharding):
// ErrEmailTaken when the id is known.
func (db *DB) createDirectoryEntry(ctx context.Context, u academy.UserRecord) error {
	_, err := db.catalog().Exec(ctx, `INSERT INTO user_regions (user_id, region) VALUES ($1, $2)`, u.ID, u.Region)
	if code, _ := pgCode(err); code == "23505" {
		return academy.ErrEmailTaken
	}
	if err != nil {
		return dbErr("create user", err)
	}
	db.regions.Store(u.ID, academy.ShardOfRegion(u.Region, u.ID, len(db.shards)))
	return nil
}

// seedDirectory copies the seeded users' regions into the directory (region sharding).
func (db *DB) seedDirectory(ctx context.Context, users []academy.UserRecord) error {
	rows := make([][]any, len(users))
	for i, u := range users {
		rows[i] = []any{u.ID, u.Region}
	}
	_, err := db.catalog().CopyFrom(ctx, pgx.Identifier{"user_regions"}, []string{"user_id", "region"}, pgx.CopyFromRows(rows))
	return dbErr("seed user directory", err)
}

// seedShardOf is the shard of a seeded user.
func (db *DB) seedShardOf(u academy.UserRecord) int {
	if db.byRegion {
		return academy.ShardOfRegion(u.Region, u.ID, len(db.shards))
	}
	return academy.ShardOf(u.ID, len(db.shards))
}
