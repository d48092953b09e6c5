package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/postgres"
)

func newCourse(t *testing.T, db *postgres.DB, capacity int) academy.Course {
	t.Helper()
	now := time.Now().UTC()
	c, err := db.CreateCourse(context.Background(), academy.Course{ID: uuid.New(), Slug: "c-" + uuid.NewString()[:8], Title: "T", Category: "x",
		InstructorID: uuid.New(), Capacity: capacity, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMigrateConcurrentlyIsSafe(t *testing.T) {
	ctx := context.Background()
	name := fmt.Sprintf("m%d", dbCounter.Add(1))
	if err := cluster.CreateDatabase(ctx, name, ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	applied := make([]int, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Go(func() {
			db, err := postgres.Open(ctx, []string{cluster.URL(name)}, postgres.Options{})
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			applied[i], errs[i] = db.Migrate(ctx)
		})
	}
	wg.Wait()
	total := 0
	for i := range 4 {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("list migrations: %v %v", files, err)
	}
	if total != len(files) {
		t.Fatalf("migrations applied %d times in all, want %d (each once)", total, len(files))
	}
}

func TestEnrollNeverOversold(t *testing.T) {
	for _, shards := range []int{1, 2} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			db := newDB(t, shards)
			ctx := context.Background()
			c := newCourse(t, db, 25)
			const users = 200
			results := make([]error, users)
			created := make([]bool, users)
			var wg sync.WaitGroup
			for i := range users {
				wg.Go(func() {
					r, err := db.Enroll(ctx, uuid.New(), c.ID, "")
					results[i], created[i] = err, r.Created
				})
			}
			wg.Wait()
			ok, full := 0, 0
			for i, err := range results {
				switch {
				case err == nil && created[i]:
					ok++
				case errors.Is(err, academy.ErrCourseFull):
					full++
				default:
					t.Errorf("enroll %d: created=%v err=%v", i, created[i], err)
				}
			}
			if ok != 25 || full != users-25 {
				t.Fatalf("created %d, full %d; want 25 and %d", ok, full, users-25)
			}
			got, err := db.Course(ctx, c.ID.String())
			if err != nil || got.SeatsTaken != 25 {
				t.Fatalf("seats taken %d (%v), want 25", got.SeatsTaken, err)
			}
		})
	}
}

func TestEnrollIdempotentAndUnenroll(t *testing.T) {
	for _, shards := range []int{1, 2} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			db := newDB(t, shards)
			ctx := context.Background()
			c := newCourse(t, db, 2)
			other := newCourse(t, db, 2)
			u := uuid.New()
			// Concurrent retries with one key take one seat, and all report "created".
			var wg sync.WaitGroup
			errs := make([]error, 20)
			res := make([]academy.EnrollResult, 20)
			for i := range 20 {
				wg.Go(func() { res[i], errs[i] = db.Enroll(ctx, u, c.ID, "key-1") })
			}
			wg.Wait()
			replays := 0
			for i := range 20 {
				if errs[i] != nil || !res[i].Created {
					t.Fatalf("retry %d: %+v %v", i, res[i], errs[i])
				}
				if res[i].Replayed {
					replays++
				}
			}
			if replays != 19 {
				t.Fatalf("replays = %d, want 19", replays)
			}
			if got, _ := db.Course(ctx, c.ID.String()); got.SeatsTaken != 1 {
				t.Fatalf("seats taken %d, want 1", got.SeatsTaken)
			}
			// Without the key, a repeat is "existing".
			if r, err := db.Enroll(ctx, u, c.ID, ""); err != nil || r.Created {
				t.Fatalf("repeat without key: %+v %v", r, err)
			}
			// The key is bound to the course.
			if _, err := db.Enroll(ctx, u, other.ID, "key-1"); !errors.Is(err, academy.ErrIdempotencyReuse) {
				t.Fatalf("key reuse on another course: %v", err)
			}
			es, err := db.Enrollments(ctx, u)
			if err != nil || len(es) != 1 || es[0].CourseID != c.ID {
				t.Fatalf("enrollments %+v %v", es, err)
			}
			if err := db.Unenroll(ctx, u, c.ID); err != nil {
				t.Fatal(err)
			}
			if err := db.Unenroll(ctx, u, c.ID); !errors.Is(err, academy.ErrEnrollmentMissing) {
				t.Fatalf("second unenroll: %v", err)
			}
			if _, err := db.Enrollment(ctx, u, c.ID); !errors.Is(err, academy.ErrEnrollmentMissing) {
				t.Fatalf("enrollment after unenroll: %v", err)
			}
			if es, _ := db.Enrollments(ctx, u); len(es) != 0 {
				t.Fatalf("enrollments after unenroll: %+v", es)
			}
			if got, _ := db.Course(ctx, c.ID.String()); got.SeatsTaken != 0 {
				t.Fatalf("seats taken %d after unenroll, want 0", got.SeatsTaken)
			}
			if _, err := db.Enroll(ctx, uuid.New(), uuid.New(), ""); !errors.Is(err, academy.ErrCourseNotFound) {
				t.Fatalf("enroll in missing course: %v", err)
			}
		})
	}
}

func TestProgressNeverMovesBackwards(t *testing.T) {
	db := newDB(t, 2)
	ctx := context.Background()
	u, lesson, course := uuid.New(), uuid.New(), uuid.New()
	var wg sync.WaitGroup
	for i := range 101 {
		wg.Go(func() {
			// Interleave high and low values.
			pct := i
			if i%2 == 1 {
				pct = 100 - i
			}
			if _, err := db.SaveProgress(ctx, academy.LessonProgress{UserID: u, LessonID: lesson, CourseID: course, Percent: pct, UpdatedAt: time.Now()}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ps, err := db.Progress(ctx, u, course)
	if err != nil || len(ps) != 1 {
		t.Fatalf("progress %+v %v", ps, err)
	}
	if ps[0].Percent != 100 || ps[0].CompletedAt == nil {
		t.Fatalf("progress = %d, completed %v; want 100 and set", ps[0].Percent, ps[0].CompletedAt)
	}
	first := *ps[0].CompletedAt
	p, err := db.SaveProgress(ctx, academy.LessonProgress{UserID: u, LessonID: lesson, CourseID: course, Percent: 100, UpdatedAt: time.Now().Add(time.Hour)})
	if err != nil || !p.CompletedAt.Equal(first) {
		t.Fatalf("completion time changed: %v -> %v (%v)", first, p.CompletedAt, err)
	}
	p, _ = db.SaveProgress(ctx, academy.LessonProgress{UserID: u, LessonID: lesson, CourseID: course, Percent: 10, UpdatedAt: time.Now()})
	if p.Percent != 100 {
		t.Fatalf("lower value overwrote: %d", p.Percent)
	}
}

func TestCapacityBelowSeatsRefused(t *testing.T) {
	db := newDB(t, 1)
	ctx := context.Background()
	c := newCourse(t, db, 3)
	for range 2 {
		if _, err := db.Enroll(ctx, uuid.New(), c.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	one := 1
	if _, err := db.UpdateCourse(ctx, c.ID, academy.CoursePatch{Capacity: &one}); !errors.Is(err, academy.ErrCapacityTooLow) {
		t.Fatalf("lower capacity below seats: %v", err)
	}
}

func TestExclusiveSerialises(t *testing.T) {
	db := newDB(t, 1)
	ctx := context.Background()
	var inside, maxInside int32
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			err := db.Exclusive(ctx, func(context.Context) error {
				mu.Lock()
				inside++
				maxInside = max(maxInside, inside)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
				mu.Lock()
				inside--
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if maxInside != 1 {
		t.Fatalf("%d callers inside Exclusive at once, want 1", maxInside)
	}
}

// Concurrent retries with one key all replay the one claim: found when a retry got 422
// idempotency_key_reused now and then, because the key's unique index is no arbiter of
// the claim's ON CONFLICT and the loser of the race failed there.
func TestEnrollConcurrentRetriesNeverReportKeyReuse(t *testing.T) {
	db := newDB(t, 1)
	ctx := context.Background()
	for round := range 100 {
		c := newCourse(t, db, 2)
		u := uuid.New()
		res := make([]academy.EnrollResult, 10)
		errs := make([]error, 10)
		var wg sync.WaitGroup
		for i := range res {
			wg.Go(func() { res[i], errs[i] = db.Enroll(ctx, u, c.ID, "key-1") })
		}
		wg.Wait()
		fresh := 0
		for i := range res {
			if errs[i] != nil || !res[i].Created {
				t.Fatalf("round %d, retry %d: %+v %v", round, i, res[i], errs[i])
			}
			if !res[i].Replayed {
				fresh++
			}
		}
		if fresh != 1 {
			t.Fatalf("round %d: %d retries took the seat, want 1", round, fresh)
		}
	}
}

// Text PostgreSQL refuses (a NUL byte: SQLSTATE 22021) is bad input, not a failure of the
// database: found when `GET /v1/courses?q=%00` answered 500. The service validates query
// text first; this is the store's backstop.
func TestRefusedTextIsInvalidInput(t *testing.T) {
	db := newDB(t, 1)
	for _, f := range []academy.CourseFilter{{Limit: 5, Query: "\x00"}, {Limit: 5, Category: "a\x00b"}, {Limit: 5, Offset: 10, Query: "go\x00"}} {
		_, err := db.ListCourses(context.Background(), f)
		if academy.KindOf(err) != academy.KindInvalid {
			t.Errorf("ListCourses(%#v) = %v (kind %d), want an invalid-input error", f, err, academy.KindOf(err))
		}
	}
	if _, err := db.Course(context.Background(), "a\x00b"); academy.KindOf(err) != academy.KindInvalid {
		t.Errorf("Course(a\\x00b) = %v, want an invalid-input error", err)
	}
}
