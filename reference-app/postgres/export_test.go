package postgres

// Pool is a shard's pool, for the black-box tests.
type Pool = pool

// Pool returns shard i's pool.
func (db *DB) Pool(i int) *Pool { return db.shards[i] }
