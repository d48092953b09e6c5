package verify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/chaos/verify"
	"github.com/trendtactics/loadlab/result"
)

func TestCoursePath(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/courses/course-7/enrollments": "course-7",
		"/v1/courses/course-7/enrollment":  "",
		"/v1/courses//enrollments":         "",
		"/v1/lessons/x/progress":           "",
	} {
		got, ok := verify.CoursePath(path)
		if got != want && ok || ok != (want != "") {
			t.Errorf("CoursePath(%q) = %q, %v; want %q", path, got, ok, want)
		}
	}
}

// TestWaitReady waits through two 503s for the 200, and gives up on a service that never
// becomes ready.
func TestWaitReady(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || n.Add(1) <= 2 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	if _, err := verify.WaitReady(context.Background(), srv.URL, 5*time.Second); err != nil || n.Load() != 3 {
		t.Fatalf("err %v after %d polls, want ready on the third", err, n.Load())
	}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	if _, err := verify.WaitReady(context.Background(), down.URL, 500*time.Millisecond); err == nil {
		t.Fatal("ready although /readyz answers 503")
	}
}

// TestCheckWithoutDatabase: no state to read is a failed verification, never a pass.
func TestCheckWithoutDatabase(t *testing.T) {
	v := verify.Check(context.Background(), "", verify.Input{Checks: []string{verify.EnrollmentsDurable},
		Writes: []result.Write{{Outcome: result.OutcomeOK}, {Outcome: result.OutcomeUnknown}}})
	if v.Pass || v.Error == "" || v.Writes.OK != 1 || v.Writes.Unknown != 1 {
		t.Fatalf("%+v", v)
	}
}

// TestEnrollments classifies writes against a state given as plain rows, one outcome per
// case, without a database.
func TestEnrollments(t *testing.T) {
	since := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	during, before := since.Add(time.Minute), since.Add(-time.Hour)
	w := func(user, course, key string, o result.Outcome) result.Write {
		return result.Write{Kind: "enrollment", Key: key, Subject: user, Path: "/v1/courses/" + course + "/enrollments", Outcome: o}
	}
	claim := func(user, course, key string, at time.Time) verify.Claim {
		return verify.Claim{User: user, Course: course, CourseID: "id-" + course, Key: key, CreatedAt: at}
	}
	row := func(user, course string) verify.Enrollment {
		return verify.Enrollment{User: user, Course: course, CourseID: "id-" + course}
	}
	// enrolled is the state of a service that did what it should: a claim and an enrollment
	// row for each of the given claims.
	enrolled := func(cs ...verify.Claim) verify.State {
		st := verify.State{Claims: cs}
		for _, c := range cs {
			st.Enrollments = append(st.Enrollments, verify.Enrollment{User: c.User, Course: c.Course, CourseID: c.CourseID})
		}
		return st
	}
	type counts struct{ lost, unexpected, recovered, duplicated, present, checked int }
	for _, tc := range []struct {
		name       string
		writes     []result.Write
		unrecorded uint64
		state      verify.State
		want       counts
		samples    []string // nil: not compared
		detail     string   // a part of Detail, "" for none
	}{
		{name: "ok and present",
			writes: []result.Write{w("u1", "c1", "k1", result.OutcomeOK)},
			state:  enrolled(claim("u1", "c1", "k1", during)),
			want:   counts{present: 1, checked: 1}, samples: []string{}},
		{name: "ok and missing is lost, per acknowledged write",
			writes:  []result.Write{w("u1", "c1", "k1", result.OutcomeOK), w("u1", "c1", "k2", result.OutcomeOK), w("u1", "c1", "k3", result.OutcomeFailed)},
			want:    counts{lost: 2, checked: 3},
			samples: []string{"key k1 (user u1 course c1)", "key k2 (user u1 course c1)"}},
		{name: "failed and absent",
			writes: []result.Write{w("u1", "c1", "k1", result.OutcomeFailed)},
			want:   counts{checked: 1}, samples: []string{}},
		{name: "failed and present, claimed during the run, is unexpected",
			writes:  []result.Write{w("u1", "c1", "k1", result.OutcomeFailed), w("u1", "c1", "k2", result.OutcomeFailed)},
			state:   enrolled(claim("u1", "c1", "k2", during)),
			want:    counts{unexpected: 1, present: 1, checked: 2},
			samples: []string{`user u1 course c1 key "k2"`}},
		// The old code counted this one unexpected: a seat claimed before the run is not
		// made by the run's failed (say, rate-limited) attempt.
		{name: "failed and present, claimed before the run",
			writes: []result.Write{w("u1", "c1", "k1", result.OutcomeFailed)},
			state:  enrolled(claim("u1", "c1", "old", before)),
			want:   counts{present: 1, checked: 1}},
		{name: "unknown and present is recovered",
			writes: []result.Write{w("u1", "c1", "k1", result.OutcomeUnknown), w("u1", "c1", "k2", result.OutcomeFailed)},
			state:  enrolled(claim("u1", "c1", "k1", during)),
			want:   counts{recovered: 1, present: 1, checked: 2}, samples: []string{}},
		{name: "unknown and absent",
			writes: []result.Write{w("u1", "c1", "k1", result.OutcomeUnknown)},
			want:   counts{checked: 1}},
		{name: "ok after unknown is not recovered",
			writes: []result.Write{w("u1", "c1", "k1", result.OutcomeUnknown), w("u1", "c1", "k1", result.OutcomeOK)},
			state:  enrolled(claim("u1", "c1", "k1", during)),
			want:   counts{present: 1, checked: 2}},
		{name: "present but never attempted is unexpected",
			writes:  []result.Write{w("u1", "c1", "k1", result.OutcomeOK)},
			state:   enrolled(claim("u1", "c1", "k1", during), claim("u1", "c2", "k9", during)),
			want:    counts{unexpected: 1, present: 1, checked: 1},
			samples: []string{`user u1 course c2 key "k9"`}},
		{name: "never attempted, claimed before the run (within the clock slack it is the run's)",
			writes:  []result.Write{w("u1", "c1", "k1", result.OutcomeOK)},
			state:   enrolled(claim("u1", "c1", "k1", during), claim("u1", "c2", "old", before), claim("u1", "c3", "k8", since.Add(-500*time.Millisecond))),
			want:    counts{unexpected: 1, present: 1, checked: 1},
			samples: []string{`user u1 course c3 key "k8"`}},
		{name: "course named by id",
			writes:  []result.Write{w("u1", "id-c1", "k1", result.OutcomeOK), w("u2", "id-c1", "k2", result.OutcomeOK)},
			state:   enrolled(claim("u1", "c1", "k1", during)),
			want:    counts{lost: 1, present: 1, checked: 2},
			samples: []string{"key k2 (user u2 course id-c1)"}},
		{name: "two claims for a pair",
			writes:  []result.Write{w("u1", "c1", "k1", result.OutcomeOK)},
			state:   verify.State{Claims: []verify.Claim{claim("u1", "c1", "k1", during), claim("u1", "c1", "k2", during)}, Enrollments: []verify.Enrollment{row("u1", "c1")}},
			want:    counts{duplicated: 1, present: 1, checked: 1},
			samples: []string{"user u1 course c1: 2 claims, 1 enrollment rows"}},
		{name: "two enrollment rows for a pair",
			writes:  []result.Write{w("u1", "c1", "k1", result.OutcomeOK)},
			state:   verify.State{Claims: []verify.Claim{claim("u1", "c1", "k1", during)}, Enrollments: []verify.Enrollment{row("u1", "c1"), row("u1", "c1")}},
			want:    counts{duplicated: 1, present: 1, checked: 1},
			samples: []string{"user u1 course c1: 1 claims, 2 enrollment rows"}},
		// The old code only looked for duplicate rows among the pairs with a claim.
		{name: "two enrollment rows for a pair without a claim",
			writes:  []result.Write{w("u1", "c1", "k1", result.OutcomeUnknown)},
			state:   verify.State{Enrollments: []verify.Enrollment{row("u1", "c1"), row("u1", "c1")}},
			want:    counts{duplicated: 1, checked: 1},
			samples: []string{"user u1 course c1: 0 claims, 2 enrollment rows"}},
		{name: "one key applied twice",
			writes: []result.Write{w("u1", "c1", "k1", result.OutcomeOK), w("u1", "c2", "k1", result.OutcomeOK), w("u2", "c1", "k1", result.OutcomeOK)},
			state:  enrolled(claim("u1", "c1", "k1", during), claim("u1", "c2", "k1", during), claim("u2", "c1", "k1", during)),
			// u2's k1 is another user's key: not a duplicate.
			want:    counts{duplicated: 1, present: 3, checked: 3},
			samples: []string{"key k1 of user u1 on 2 claims"}},
		{name: "samples capped at five, lost first",
			writes: []result.Write{
				w("u1", "c1", "k1", result.OutcomeOK), w("u1", "c2", "k2", result.OutcomeOK), w("u1", "c3", "k3", result.OutcomeOK),
				w("u1", "c4", "k4", result.OutcomeOK), w("u2", "c1", "k5", result.OutcomeOK), w("u2", "c2", "k6", result.OutcomeOK),
			},
			state: enrolled(claim("u2", "c9", "k7", during)),
			want:  counts{lost: 6, unexpected: 1, checked: 6},
			samples: []string{"key k1 (user u1 course c1)", "key k2 (user u1 course c2)", "key k3 (user u1 course c3)",
				"key k4 (user u1 course c4)", "key k5 (user u2 course c1)"}},
		{name: "writes of other kinds and rows of other users ignored",
			writes: []result.Write{
				w("u1", "c1", "k1", result.OutcomeOK),
				{Kind: "progress", Key: "p1", Subject: "u1", Path: "/v1/lessons/l1/progress", Outcome: result.OutcomeOK},
				{Kind: "enrollment", Key: "k2", Subject: "u1", Path: "/v1/lessons/l1/progress", Outcome: result.OutcomeOK},
				{Kind: "enrollment", Key: "k3", Path: "/v1/courses/c2/enrollments", Outcome: result.OutcomeOK},
				{Kind: "progress", Key: "p2", Subject: "u3", Path: "/v1/courses/c3/enrollments", Outcome: result.OutcomeOK},
			},
			state:  enrolled(claim("u1", "c1", "k1", during), claim("u3", "c3", "p2", during), claim("u4", "c1", "k4", during), claim("u4", "c1", "k4", during)),
			want:   counts{present: 1, checked: 1},
			detail: "4 writes without a user or an enrollment path not checked"},
		// The old code counted the claim unexpected: with writes unrecorded, "never attempted"
		// can't be told from "attempted, not recorded". Lost writes are still lost.
		{name: "unrecorded writes",
			writes:     []result.Write{w("u1", "c1", "k1", result.OutcomeOK), w("u1", "c2", "k2", result.OutcomeFailed), w("u1", "c4", "k4", result.OutcomeOK)},
			unrecorded: 3,
			state:      enrolled(claim("u1", "c1", "k1", during), claim("u1", "c2", "k5", during), claim("u1", "c3", "k3", during)),
			want:       counts{lost: 1, present: 2, checked: 3},
			detail:     "3 writes were not recorded (beyond the write log's bound, or sent by a lost worker after its last report); 2 claims made during the run that no recorded write explains not judged"},
		{name: "nothing written", want: counts{}, samples: []string{}, detail: "0 pairs attempted, 0 present"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := verify.Enrollments(verify.Input{Writes: tc.writes, Unrecorded: tc.unrecorded, Since: since}, tc.state)
			got := counts{c.Lost, c.Unexpected, c.Recovered, c.Duplicated, c.Present, c.Checked}
			if got != tc.want {
				t.Errorf("got %+v, want %+v (%s)", got, tc.want, c.Detail)
			}
			if pass := tc.want.lost+tc.want.unexpected+tc.want.duplicated == 0; c.Pass != pass || c.Name != verify.EnrollmentsDurable {
				t.Errorf("%s pass %v, want %v", c.Name, c.Pass, pass)
			}
			if tc.samples != nil && !slices.Equal(c.Samples, tc.samples) {
				t.Errorf("samples %q, want %q", c.Samples, tc.samples)
			}
			if !strings.Contains(c.Detail, tc.detail) {
				t.Errorf("detail %q, want it to say %q", c.Detail, tc.detail)
			}
		})
	}
}
