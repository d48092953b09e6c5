package postgres

// Pool is a shard's pool, for the black-box tests.
type Pool = pool

// Pool returns shard i's pool.
func (db *DB) Pool(i int) *Pool { return db.shards[i] }

// ReplicaReads is the number of reads the replicas served.
func (db *DB) ReplicaReads() int64 {
	var n int64
	for _, reps := range db.replicas {
		for _, s := range reps {
			n += s.readsServed.Load()
		}
	}
	return n
}

// PrimaryReads is the number of reads that could have gone to a replica but went to the primary.
func (db *DB) PrimaryReads() int64 { return db.primaryReads.Load() }
