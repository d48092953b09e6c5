package result

import (
	"sync"
	"time"
)

// Outcome is what the generator knows about a write once its request has ended.
type Outcome uint8

// Outcomes of a write, as Jepsen's set checker sees them.
const (
	// OutcomeOK: a 2xx answer; the service acknowledged the write.
	OutcomeOK Outcome = iota + 1
	// OutcomeFailed: a 4xx answer (409 course_full, 422, 401, ...); the service definitely did not apply it.
	OutcomeFailed
	// OutcomeUnknown: no answer (time-out, reset, transport error, the run stopped) or a 5xx;
	// the write may or may not have been applied.
	OutcomeUnknown
)

func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeFailed:
		return "failed"
	case OutcomeUnknown:
		return "unknown"
	}
	return "none"
}

// OutcomeOf classifies a write's response: status 0 means no response at all.
func OutcomeOf(status int) Outcome {
	switch {
	case status >= 200 && status < 300:
		return OutcomeOK
	case status >= 400 && status < 500:
		return OutcomeFailed
	}
	return OutcomeUnknown // no response, 1xx/3xx (not expected of a write), 5xx
}

// Write is one recorded write request.
type Write struct {
	Kind    string        // the request's write: marker, e.g. "enrollment"
	Key     string        // its Idempotency-Key
	Subject string        // the "sub" claim of its bearer token (the user), "" without one
	Path    string        // the URL path as sent, e.g. /v1/courses/course-7/enrollments
	Status  int           // the response status, 0 without a response
	Outcome Outcome       // ok, failed or unknown
	At      time.Duration // when it was sent, from the run start
	// Done is when its answer (or its failure) came, from the run start.
	Done time.Duration
	// Read marks a read-back (a request marked `read:`, Kind the same), not a write: the
	// reads-see-own-writes verification judges it against its author's acknowledged writes.
	Read bool
}

// DefaultMaxWrites bounds the writes a WriteLog keeps (about 200 MB at ~200 bytes a write).
const DefaultMaxWrites = 1_000_000

// WriteLog records the writes of a run (requests marked `write:` in the scenario) for the
// verification after it. Its memory is proportional to the writes, not to all requests:
// about 200 bytes per write (three short strings — key, subject, path — and the fixed
// fields), up to Max writes; writes beyond Max are counted in Dropped only.
// A WriteLog is safe for concurrent use.
type WriteLog struct {
	// Max bounds the writes kept; 0 means DefaultMaxWrites.
	Max int

	mu      sync.Mutex
	writes  []Write
	dropped uint64
}

// Add records a write.
func (l *WriteLog) Add(w Write) {
	l.mu.Lock()
	defer l.mu.Unlock()
	max := l.Max
	if max <= 0 {
		max = DefaultMaxWrites
	}
	if len(l.writes) >= max {
		l.dropped++
		return
	}
	l.writes = append(l.writes, w)
}

// Writes returns a copy of the recorded writes in recording order.
func (l *WriteLog) Writes() []Write {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Write(nil), l.writes...)
}

// Since returns a copy of the writes recorded after the first i, in recording order: a
// generator that streams its log sends Since(sent) and adds their number to sent.
func (l *WriteLog) Since(i int) []Write {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i >= len(l.writes) {
		return nil
	}
	return append([]Write(nil), l.writes[i:]...)
}

// Unrecorded counts n writes that were sent but are not in the log: a distributed run's
// lost worker's writes after its last report. They count in Dropped.
func (l *WriteLog) Unrecorded(n uint64) {
	l.mu.Lock()
	l.dropped += n
	l.mu.Unlock()
}

// Dropped is the number of writes not recorded: not kept because the log was full, or
// counted by Unrecorded.
func (l *WriteLog) Dropped() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}
