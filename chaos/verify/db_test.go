package verify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trendtactics/loadlab/chaos/verify"
	"github.com/trendtactics/loadlab/internal/testutil/pgtest"
	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
	"github.com/trendtactics/loadlab/result"
)

// uid returns the n-th test UUID.
func uid(n int) string { return fmt.Sprintf("00000000-0000-0000-0000-%012d", n) }

// exec runs SQL statements on the database at url.
func exec(t *testing.T, url string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestCheckReadsTheState runs Check against a real PostgreSQL with the academy's schema:
// the seat ledger and enrollment rows written here are what the SQL reads back.
func TestCheckReadsTheState(t *testing.T) {
	db := pgtest.Start(t, pgtemp.Options{})
	since := time.Now()
	courses := fmt.Sprintf(`INSERT INTO courses (id, slug, title, category, instructor_id, capacity, seats_taken) VALUES
		('%s', 'course-1', 'One', 'go', '%s', 100, 0), ('%s', 'course-2', 'Two', 'go', '%s', 100, 0)`,
		uid(901), uid(900), uid(902), uid(900))
	claim := func(user, course int, key string, ago time.Duration) string {
		return fmt.Sprintf(`INSERT INTO seat_claims (course_id, user_id, idempotency_key, created_at) VALUES ('%s', '%s', '%s', now() - interval '%d seconds');
			INSERT INTO enrollments (user_id, course_id) VALUES ('%s', '%s') ON CONFLICT DO NOTHING;
			UPDATE courses SET seats_taken = seats_taken + 1 WHERE id = '%s'`,
			uid(course), uid(user), key, int(ago.Seconds()), uid(user), uid(course), uid(course))
	}
	enroll := func(user int, course, key string, o result.Outcome) result.Write {
		return result.Write{Kind: "enrollment", Key: key, Subject: uid(user), Path: "/v1/courses/" + course + "/enrollments", Outcome: o}
	}
	check := func(t *testing.T, url string, in verify.Input) result.VerificationCheck {
		t.Helper()
		in.Checks, in.Since = []string{verify.EnrollmentsDurable, verify.SeatsNeverOversold, verify.ProgressMonotonic}, since
		v := verify.Check(context.Background(), url, in)
		if v.Error != "" || len(v.Checks) != 3 {
			t.Fatalf("%+v", v)
		}
		for _, c := range v.Checks[1:] {
			if !c.Pass {
				t.Errorf("%s: %+v", c.Name, c)
			}
		}
		t.Logf("%+v", v.Checks[0])
		return v.Checks[0]
	}

	t.Run("set checker", func(t *testing.T) {
		url := db.NewDatabase(t)
		exec(t, url, courses,
			claim(1, 901, "k1", 0),         // ok, present
			claim(3, 901, "k3", 0),         // unknown, present: recovered
			claim(5, 902, "k5", 0),         // never attempted, made during the run: unexpected
			claim(6, 902, "k6", time.Hour), // never attempted, made before the run: not the run's
			claim(7, 902, "k7", 0),         // ok, the course named by its id
			claim(8, 901, "k8", 0),         // failed, present: unexpected
		)
		c := check(t, url, verify.Input{Writes: []result.Write{
			enroll(1, "course-1", "k1", result.OutcomeOK),
			enroll(2, "course-1", "k2", result.OutcomeOK), // lost
			enroll(3, "course-1", "k3", result.OutcomeUnknown),
			enroll(4, "course-1", "k4", result.OutcomeFailed),
			enroll(5, "course-1", "k5b", result.OutcomeFailed), // user 5 is the run's
			enroll(6, "course-1", "k6b", result.OutcomeFailed), // user 6 is the run's
			enroll(7, uid(902), "k7", result.OutcomeOK),
			enroll(8, "course-1", "k8", result.OutcomeFailed),
			{Kind: "progress", Subject: uid(1), Path: "/v1/lessons/x/progress", Outcome: result.OutcomeOK},
		}})
		if c.Pass || c.Lost != 1 || c.Unexpected != 2 || c.Recovered != 1 || c.Duplicated != 0 || c.Present != 4 || c.Checked != 8 {
			t.Errorf("lost %d unexpected %d recovered %d duplicated %d present %d checked %d; want 1 2 1 0 4 8",
				c.Lost, c.Unexpected, c.Recovered, c.Duplicated, c.Present, c.Checked)
		}
		want := []string{
			fmt.Sprintf("key k2 (user %s course course-1)", uid(2)),
			fmt.Sprintf(`user %s course course-2 key "k5"`, uid(5)),
			fmt.Sprintf(`user %s course course-1 key "k8"`, uid(8)),
		}
		if fmt.Sprint(c.Samples) != fmt.Sprint(want) {
			t.Errorf("samples %q, want %q", c.Samples, want)
		}
	})

	// A seat claimed before the run is not the run's doing, whatever the run's attempt on
	// it answered: a 429 for a user already enrolled is no unexpected write.
	t.Run("failed write on a seat claimed before the run", func(t *testing.T) {
		url := db.NewDatabase(t)
		exec(t, url, courses, claim(1, 901, "old", time.Hour))
		c := check(t, url, verify.Input{Writes: []result.Write{enroll(1, "course-1", "k1", result.OutcomeFailed)}})
		if !c.Pass || c.Unexpected != 0 || c.Present != 1 {
			t.Errorf("%+v; want a pass with nothing unexpected", c)
		}
	})

	// Writes beyond the log's bound are not checked: a claim that only an unrecorded write
	// can explain is not "never attempted".
	t.Run("unrecorded writes", func(t *testing.T) {
		url := db.NewDatabase(t)
		exec(t, url, courses, claim(1, 901, "k1", 0), claim(1, 902, "k2", 0))
		c := check(t, url, verify.Input{Unrecorded: 1, Writes: []result.Write{enroll(1, "course-1", "k1", result.OutcomeOK)}})
		if !c.Pass || c.Unexpected != 0 || c.Present != 1 {
			t.Errorf("%+v; want a pass with nothing unexpected", c)
		}
	})

	// A service without the ledger's constraints: the same seat claimed twice, one key on
	// two claims, two enrollment rows for one course without a claim.
	t.Run("duplicates", func(t *testing.T) {
		url := db.NewDatabase(t)
		exec(t, url, courses,
			`ALTER TABLE seat_claims DROP CONSTRAINT seat_claims_pkey`,
			`DROP INDEX seat_claims_idempotency`,
			`ALTER TABLE enrollments DROP CONSTRAINT enrollments_pkey`,
			claim(1, 901, "k1", 0), claim(1, 901, "k1b", 0), // a pair claimed twice
			claim(2, 901, "k2", 0), claim(2, 902, "k2", 0), // one key on two claims
			fmt.Sprintf(`INSERT INTO enrollments (user_id, course_id) VALUES ('%s', '%s'), ('%s', '%s')`, uid(3), uid(902), uid(3), uid(902)),
		)
		c := check(t, url, verify.Input{Writes: []result.Write{
			enroll(1, "course-1", "k1", result.OutcomeOK), enroll(1, "course-1", "k1b", result.OutcomeOK),
			enroll(2, "course-1", "k2", result.OutcomeOK), enroll(2, "course-2", "k2", result.OutcomeUnknown),
			enroll(3, "course-2", "k3", result.OutcomeUnknown),
		}})
		if c.Pass || c.Duplicated != 3 || c.Lost != 0 || c.Unexpected != 0 {
			t.Errorf("%+v; want 3 duplicated", c)
		}
	})
}
