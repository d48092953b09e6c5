package verify

import (
	"fmt"
	"time"

	"github.com/trendtactics/loadlab/result"
)

// ReadsSeeOwnWrites names the read-your-writes check.
const ReadsSeeOwnWrites = "reads-see-own-writes"

// ReadPath returns the course of a read-back's path /v1/courses/{course}/enrollment.
func ReadPath(path string) (string, bool) { return courseIn(path, "enrollment") }

// OwnReads is the reads-see-own-writes check as a pure function of the run's recorded
// writes and read-backs (in.Writes; the other fields of in are not used). A read-back
// (marked `read: enrollment`: GET /v1/courses/{course}/enrollment with its author's token)
// is judged when its author had an enrollment in that course acknowledged (2xx) before the
// read was sent (the write's answer had come: Done ≤ the read's At); the course is compared
// as the paths name it, so the writes and the reads of a scenario must name it alike (slug
// or id). A judged read that found the enrollment (200) saw the write; one that did not
// (404) is stale, and fails the check like a lost write; any other answer (time-out, 5xx)
// says nothing either way and is counted apart. A check with no judged read fails: it
// proved nothing. Nothing in the run may undo an enrollment (unenroll) for this to hold.
func OwnReads(in Input) result.VerificationCheck {
	c := result.VerificationCheck{Name: ReadsSeeOwnWrites}
	// acked: per (user, course), when the first acknowledged write's answer came.
	acked := map[pair]time.Duration{}
	for _, w := range in.Writes {
		if p, ok := enrollmentPair(w); ok && w.Outcome == result.OutcomeOK {
			if at, seen := acked[p]; !seen || w.Done < at {
				acked[p] = w.Done
			}
		}
	}
	var stale []string
	reads, unjudged, notAfter := 0, 0, 0
	for _, r := range in.Writes {
		course, ok := ReadPath(r.Path)
		if !r.Read || r.Kind != "enrollment" || !ok || r.Subject == "" {
			continue
		}
		reads++
		ackAt, ok := acked[pair{r.Subject, course}]
		if !ok || ackAt > r.At {
			notAfter++
			continue
		}
		switch r.Status {
		case 200:
			c.Checked++
			c.Present++
		case 404:
			c.Checked++
			c.Stale++
			stale = append(stale, fmt.Sprintf("user %s course %s: read at %.3fs found nothing; enrolled (acknowledged) at %.3fs",
				r.Subject, course, r.At.Seconds(), ackAt.Seconds()))
		default:
			unjudged++
		}
	}
	c.Samples = samples(stale)
	c.Pass = c.Stale == 0 && c.Checked > 0
	c.Detail = fmt.Sprintf("%d read-backs: %d judged (after their author's acknowledged enrollment), %d saw it, %d stale; %d not after an acknowledged write of theirs, %d without a definite answer (not judged)",
		reads, c.Checked, c.Present, c.Stale, notAfter, unjudged)
	if c.Checked == 0 {
		c.Detail += "; no read-back was judged, so nothing was proved"
	}
	return c
}
