package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/postgres"
)

// countOn counts the rows of sql (one uuid argument) on the database at url.
func countOn(t *testing.T, url, sql string, id uuid.UUID) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), sql, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestShardByRegion stores users of three regions over three shards sharded by region and
// user: each user's account, enrollment and progress rows are on the shard the guide's
// formula, hash(region + user_id) % 3, names (and on no other), whatever ShardOf(user_id)
// would say; a store that starts afresh (no directory cached) finds them; an unknown user is
// not found; seeded users land by the same formula.
func TestShardByRegion(t *testing.T) {
	ctx := context.Background()
	urls := []string{cluster.NewDatabase(t), cluster.NewDatabase(t), cluster.NewDatabase(t)}
	open := func() *postgres.DB {
		db, err := postgres.Open(ctx, urls, postgres.Options{MaxConns: 4, QueueWait: -1, ShardBy: postgres.ShardByRegion})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}
	db := open()
	course := newCourse(t, db, 100)
	moved := 0 // users the region puts on another shard than the id alone would
	for i := range 12 {
		region := academy.SeedRegions[i%3]
		email := fmt.Sprintf("r%d@academy.test", i)
		u := academy.UserRecord{User: academy.User{ID: academy.UserIDFromEmail(email), Email: email, Name: "R", Role: academy.RoleStudent,
			CreatedAt: time.Now().UTC(), Region: region}, PasswordHash: []byte("x")}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateUser(ctx, u); !errors.Is(err, academy.ErrEmailTaken) {
			t.Fatalf("second registration: %v, want ErrEmailTaken", err)
		}
		if _, err := db.Enroll(ctx, u.ID, course.ID, ""); err != nil {
			t.Fatal(err)
		}
		want := academy.ShardOfRegion(region, u.ID, 3)
		if want != academy.ShardOf(u.ID, 3) {
			moved++
		}
		for s, url := range urls {
			n := 0
			for _, q := range []string{`SELECT count(*) FROM users WHERE id = $1`, `SELECT count(*) FROM enrollments WHERE user_id = $1`} {
				n += countOn(t, url, q, u.ID)
			}
			if s == want && n != 2 || s != want && n != 0 {
				t.Fatalf("user %d (%s) has %d rows on shard %d; the formula puts them on shard %d", i, region, n, s, want)
			}
		}
	}
	if moved == 0 {
		t.Fatal("the region never changed a user's shard: the test proves nothing")
	}
	fresh := open()
	for i := range 12 {
		u, err := fresh.UserByID(ctx, academy.UserIDFromEmail(fmt.Sprintf("r%d@academy.test", i)))
		if err != nil || u.Region != academy.SeedRegions[i%3] {
			t.Fatalf("user %d from a fresh store: %+v %v", i, u.User, err)
		}
		es, err := fresh.Enrollments(ctx, u.ID)
		if err != nil || len(es) != 1 {
			t.Fatalf("user %d's enrollments from a fresh store: %v %v", i, es, err)
		}
	}
	if _, err := fresh.UserByID(ctx, uuid.New()); !errors.Is(err, academy.ErrNotFound) {
		t.Fatalf("unknown user: %v, want ErrNotFound", err)
	}

	svc, err := academy.NewService(db, nil, academy.Options{Secret: []byte("0123456789abcdef0123")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Seed(ctx, academy.Principal{Role: academy.RoleAdmin}, academy.SeedSpec{Users: 9, Courses: 1, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 9; i++ {
		id := academy.UserIDFromEmail(fmt.Sprintf("student-%d@academy.test", i))
		want := academy.ShardOfRegion(academy.SeedRegions[(i-1)%3], id, 3)
		if n := countOn(t, urls[want], `SELECT count(*) FROM users WHERE id = $1`, id); n != 1 {
			t.Fatalf("seeded student %d not on shard %d", i, want)
		}
		if u, err := fresh.UserByID(ctx, id); err != nil || u.Region != academy.SeedRegions[(i-1)%3] {
			t.Fatalf("seeded student %d: %+v %v", i, u.User, err)
		}
	}
}
