package verify

import (
	"fmt"
	"strings"
	"time"

	"github.com/trendtactics/loadlab/result"
)

// State is the enrollment state read back after a run: the rows of the run's users.
type State struct {
	Claims      []Claim      // the seat ledger (catalog shard's seat_claims)
	Enrollments []Enrollment // the user shard's enrollments
}

// Claim is one seat_claims row.
type Claim struct {
	User      string    // user id
	Course    string    // course slug
	CourseID  string    // course id
	Key       string    // idempotency key, "" without one
	CreatedAt time.Time // when the seat was claimed, by the database's clock
}

// Enrollment is one enrollments row.
type Enrollment struct {
	User     string // user id
	Course   string // course slug
	CourseID string // course id
}

// preRunSlack is how much earlier than the run's start a claim must be to be taken as
// made before the run: the database's clock and the generator's may differ a little.
const preRunSlack = time.Second

// pair is a user and a course, as the writes name it (slug or id).
type pair struct{ user, course string }

// attempts is what the run did to one pair.
type attempts struct {
	ok, failed, unknown int
	okKeys              []string
}

// explains reports whether the attempts may have made a claim: an acknowledged write or
// one of unknown outcome; a definitely failed (4xx) one did not.
func (a *attempts) explains() bool { return a != nil && (a.ok > 0 || a.unknown > 0) }

// enrollmentPair returns the pair an enrollment write is for; ok is false for a write of
// another kind, without a user or without an enrollment path.
func enrollmentPair(w result.Write) (p pair, ok bool) {
	course, ok := CoursePath(w.Path)
	if w.Kind != "enrollment" || w.Read || !ok || w.Subject == "" {
		return pair{}, false
	}
	return pair{w.Subject, course}, true
}

// runUsers returns the users of the run's enrollment writes: the only users whose rows
// Enrollments looks at.
func runUsers(ws []result.Write) []string {
	seen := map[string]bool{}
	ids := []string{} // an empty array, not NULL, in the query
	for _, w := range ws {
		if p, ok := enrollmentPair(w); ok && !seen[p.user] {
			seen[p.user] = true
			ids = append(ids, p.user)
		}
	}
	return ids
}

// Enrollments is the enrollments-durable check as a pure function of the run's writes
// (in.Writes, in.Unrecorded, in.Since; in.Checks is not used) and the state read back. It
// compares per (user, course) pair, the course as the write's path names it (slug or id),
// and looks only at the rows of users with an enrollment write in the run:
//
//   - lost: acknowledged writes (ok) whose pair has no seat claim, one per write;
//   - unexpected: pairs with a claim made during the run (not more than a second before
//     in.Since) that no write explains: never attempted, or every attempt definitely
//     failed (4xx). When writes went unrecorded (in.Unrecorded > 0), an unrecorded write may
//     explain any claim, so none is counted unexpected: Detail says how many were not judged;
//   - recovered: pairs present whose attempts had no ok and at least one unknown outcome;
//   - duplicated: pairs with more than one claim or more than one enrollment row, and
//     idempotency keys of one user on more than one claim, one each;
//   - present: attempted pairs with a claim.
//
// Only lost, unexpected and duplicated fail the check. Samples are up to five: lost writes,
// then unexpected claims, then duplicates, each list sorted.
func Enrollments(in Input, st State) result.VerificationCheck {
	c := result.VerificationCheck{Name: EnrollmentsDurable}
	tried := map[pair]*attempts{}
	users := map[string]bool{}
	skipped, reads := 0, 0
	for _, w := range in.Writes {
		if w.Read { // a read-back (reads-see-own-writes), not a write
			reads++
			continue
		}
		p, ok := enrollmentPair(w)
		if !ok {
			skipped++
			continue
		}
		users[p.user] = true
		a := tried[p]
		if a == nil {
			a = &attempts{}
			tried[p] = a
		}
		switch w.Outcome {
		case result.OutcomeOK:
			a.ok++
			a.okKeys = append(a.okKeys, w.Key)
		case result.OutcomeFailed:
			a.failed++
		default:
			a.unknown++
		}
	}
	c.Checked = len(in.Writes) - reads - skipped

	// A row's pair: by course id when the writes named the course by id, else by slug.
	pairOf := func(user, slug, id string) pair {
		if tried[pair{user, id}] != nil {
			return pair{user, id}
		}
		return pair{user, slug}
	}
	type userKey struct{ user, key string }
	claims := map[pair]int{}
	keys := map[userKey]int{}
	unexplained := map[pair]Claim{} // the first claim made during the run of each pair no write explains
	cutoff := in.Since.Add(-preRunSlack)
	for _, cl := range st.Claims {
		if !users[cl.User] {
			continue
		}
		p := pairOf(cl.User, cl.Course, cl.CourseID)
		claims[p]++
		if cl.Key != "" {
			keys[userKey{cl.User, cl.Key}]++
		}
		if cl.CreatedAt.Before(cutoff) || tried[p].explains() {
			continue // made before the run, or by one of its writes
		}
		if _, seen := unexplained[p]; !seen {
			unexplained[p] = cl
		}
	}
	enrolled := map[pair]int{}
	for _, e := range st.Enrollments {
		if users[e.User] {
			enrolled[pairOf(e.User, e.Course, e.CourseID)]++
		}
	}

	var lost, unexpected, dup []string
	for p, a := range tried {
		present := claims[p] > 0
		if present {
			c.Present++
		}
		switch {
		case a.ok > 0 && !present:
			c.Lost += len(a.okKeys)
			for _, k := range a.okKeys {
				lost = append(lost, fmt.Sprintf("key %s (user %s course %s)", k, p.user, p.course))
			}
		case a.ok == 0 && a.unknown > 0 && present:
			c.Recovered++
		}
	}
	notJudged := 0
	for _, cl := range unexplained {
		if in.Unrecorded > 0 {
			notJudged++
			continue
		}
		unexpected = append(unexpected, fmt.Sprintf("user %s course %s key %q", cl.User, cl.Course, cl.Key))
	}
	c.Unexpected = len(unexpected)
	for p, n := range claims {
		if n > 1 || enrolled[p] > 1 {
			dup = append(dup, fmt.Sprintf("user %s course %s: %d claims, %d enrollment rows", p.user, p.course, n, enrolled[p]))
		}
	}
	for p, n := range enrolled {
		if n > 1 && claims[p] == 0 { // a pair with claims was counted above
			dup = append(dup, fmt.Sprintf("user %s course %s: 0 claims, %d enrollment rows", p.user, p.course, n))
		}
	}
	for k, n := range keys {
		if n > 1 {
			dup = append(dup, fmt.Sprintf("key %s of user %s on %d claims", k.key, k.user, n))
		}
	}
	c.Duplicated = len(dup)
	missing := 0
	for p := range claims {
		if enrolled[p] == 0 {
			missing++
		}
	}
	c.Pass = c.Lost == 0 && c.Unexpected == 0 && c.Duplicated == 0
	c.Samples = samples(lost, unexpected, dup)

	notes := []string{fmt.Sprintf("%d pairs attempted, %d present", len(tried), len(claims))}
	if skipped > 0 {
		notes = append(notes, fmt.Sprintf("%d writes without a user or an enrollment path not checked", skipped))
	}
	if missing > 0 {
		notes = append(notes, fmt.Sprintf("%d claims without their user-shard enrollment row (repaired by the next enroll)", missing))
	}
	if in.Unrecorded > 0 {
		notes = append(notes, fmt.Sprintf("%d writes were not recorded (beyond the write log's bound, or sent by a lost worker after its last report)", in.Unrecorded))
	}
	if notJudged > 0 {
		notes = append(notes, fmt.Sprintf("%d claims made during the run that no recorded write explains not judged: an unrecorded write may have made them", notJudged))
	}
	c.Detail = strings.Join(notes, "; ")
	return c
}
