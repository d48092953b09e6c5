package loadgen

import (
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// TestCoarseDeadline: a deadline asked for is never set earlier than asked (a timeout would
// end a request before its time), nor later than its slack; one in force that already covers
// the one asked for within that slack stands.
func TestCoarseDeadline(t *testing.T) {
	now := time.Now()
	second := now.Add(time.Second)
	cases := []struct {
		name    string
		by, ask time.Time
		set     bool
		at      time.Time // when set; zero: the one asked for plus its slack
	}{
		{"none asked, none in force", time.Time{}, time.Time{}, false, time.Time{}},
		{"none asked, one in force", second, time.Time{}, true, time.Time{}},
		{"first deadline", time.Time{}, second, true, second.Add(maxDeadlineSlack)},
		{"in force covers it within the slack", second.Add(5 * time.Millisecond), second, false, second.Add(5 * time.Millisecond)},
		{"in force is earlier", second.Add(-time.Nanosecond), second, true, second.Add(maxDeadlineSlack)},
		{"in force is too late", second.Add(maxDeadlineSlack + time.Millisecond), second, true, second.Add(maxDeadlineSlack)},
	}
	for _, c := range cases {
		by := c.by
		at, set := coarseDeadline(&by, c.ask)
		if set != c.set {
			t.Errorf("%s: set %v, want %v", c.name, set, c.set)
		}
		if set && c.ask.IsZero() && !at.IsZero() {
			t.Errorf("%s: set %v, want no deadline", c.name, at)
		}
		// The slack is computed from time.Until: up to the test's own run time less.
		if !c.ask.IsZero() && (at.Before(c.ask) || at.After(c.at) || c.at.Sub(at) > time.Millisecond) {
			t.Errorf("%s: deadline %v after the one asked for, want %v", c.name, at.Sub(c.ask), c.at.Sub(c.ask))
		}
	}
	// A short timeout gets a sixteenth of itself.
	ask := time.Now().Add(16 * time.Millisecond)
	if at, _ := coarseDeadline(new(time.Time), ask); at.Sub(ask) > time.Millisecond || at.Before(ask) {
		t.Errorf("a 16 ms timeout's deadline is %v after the one asked for, want at most 1 ms", at.Sub(ask))
	}
}

// deadlineConn counts the deadlines set on it.
type deadlineConn struct {
	net.Conn
	reads, writes int
	read, write   time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error  { c.reads++; c.read = t; return nil }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error { c.writes++; c.write = t; return nil }

// TestFastConnMovesDeadlinesSeldom: requests sent back to back with a 1 s timeout move the
// connection's deadlines once per slack, not once each, and the deadline in force always
// covers the one asked for, by at most the slack.
func TestFastConnMovesDeadlinesSeldom(t *testing.T) {
	inner := &deadlineConn{}
	c := &fastConn{Conn: inner}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	asked := 0
	for at := start; at.Sub(start) < 100*time.Millisecond; at = at.Add(time.Duration(rng.IntN(200)) * time.Microsecond) {
		ask := at.Add(time.Second) // as fasthttp asks: a request's time plus its timeout
		if err := c.SetWriteDeadline(ask); err != nil {
			t.Fatal(err)
		}
		if err := c.SetReadDeadline(ask); err != nil {
			t.Fatal(err)
		}
		asked++
		for _, by := range []time.Time{inner.read, inner.write} {
			if by.Before(ask) || by.Sub(ask) > maxDeadlineSlack {
				t.Fatalf("deadline in force %v after the one asked for, want within [0, %v]", by.Sub(ask), maxDeadlineSlack)
			}
		}
	}
	// 100 ms of asks at most 10 ms apart in force: some 10 moves each (slack 10 ms), never one per ask.
	if inner.reads > 15 || inner.writes > 15 || inner.reads == 0 {
		t.Errorf("%d asks moved the read deadline %d times and the write deadline %d times, want about 10", asked, inner.reads, inner.writes)
	}
}
