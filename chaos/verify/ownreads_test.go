package verify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/chaos/verify"
	"github.com/trendtactics/loadlab/result"
)

func enroll(user, course string, status int, at, done time.Duration) result.Write {
	return result.Write{Kind: "enrollment", Subject: user, Path: "/v1/courses/" + course + "/enrollments", Key: user + course,
		Status: status, Outcome: result.OutcomeOf(status), At: at, Done: done}
}

func readBack(user, course string, status int, at time.Duration) result.Write {
	return result.Write{Kind: "enrollment", Read: true, Subject: user, Path: "/v1/courses/" + course + "/enrollment",
		Status: status, Outcome: result.OutcomeOf(status), At: at, Done: at + time.Millisecond}
}

// TestOwnReads classifies read-backs: judged only after the author's acknowledged write
// came back; 200 saw it, 404 is stale (fails), other answers are not judged; reads of other
// users' writes, or before the acknowledgement, or after a refused write, are not judged.
func TestOwnReads(t *testing.T) {
	ms := time.Millisecond
	in := verify.Input{Writes: []result.Write{
		enroll("u1", "course-1", 201, 10*ms, 20*ms),
		readBack("u1", "course-1", 200, 25*ms), // saw it
		readBack("u1", "course-1", 404, 15*ms), // sent before the answer came: not judged
		readBack("u2", "course-1", 404, 30*ms), // another user: not judged
		enroll("u3", "course-2", 409, 10*ms, 20*ms),
		readBack("u3", "course-2", 404, 30*ms), // the write was refused: not judged
		enroll("u4", "course-3", 201, 10*ms, 20*ms),
		readBack("u4", "course-3", 404, 40*ms), // stale
		readBack("u4", "course-3", 503, 41*ms), // no definite answer
		readBack("u4", "course-3", 200, 50*ms),
	}}
	c := verify.OwnReads(in)
	if c.Pass || c.Stale != 1 || c.Checked != 3 || c.Present != 2 {
		t.Fatalf("got %+v: want 3 judged, 2 saw, 1 stale, failed", c)
	}
	if len(c.Samples) != 1 || !strings.Contains(c.Samples[0], "user u4 course course-3") {
		t.Errorf("samples %q", c.Samples)
	}
	if !strings.Contains(c.Detail, "7 read-backs") || !strings.Contains(c.Detail, "1 without a definite answer") {
		t.Errorf("detail %q", c.Detail)
	}

	// Without the stale read it passes; with no judged read it fails (nothing proved).
	ok := verify.OwnReads(verify.Input{Writes: append(in.Writes[:2:2], in.Writes[3])})
	if !ok.Pass || ok.Stale != 0 || ok.Checked != 1 {
		t.Errorf("got %+v, want a pass with one judged read", ok)
	}
	none := verify.OwnReads(verify.Input{Writes: in.Writes[:1]})
	if none.Pass || !strings.Contains(none.Detail, "nothing was proved") {
		t.Errorf("no read-back: %+v, want a failure", none)
	}
}

// A read-back is no write: enrollments-durable neither counts nor classifies it.
func TestReadBacksAreNotWrites(t *testing.T) {
	ms := time.Millisecond
	in := verify.Input{Writes: []result.Write{enroll("u1", "course-1", 201, 0, ms), readBack("u1", "course-1", 200, 2*ms)}}
	c := verify.Enrollments(in, verify.State{Claims: []verify.Claim{{User: "u1", Course: "course-1", CourseID: "id-1", Key: "u1course-1"}},
		Enrollments: []verify.Enrollment{{User: "u1", Course: "course-1", CourseID: "id-1"}}})
	if !c.Pass || c.Checked != 1 || c.Lost != 0 {
		t.Errorf("got %+v, want one write checked, none lost", c)
	}
}
