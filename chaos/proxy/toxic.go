package proxy

import (
	"errors"
	"math/rand/v2"
	"time"
)

// Toxic acts on the data of one direction of one proxied connection, one chunk at a time.
//
// The proxy calls Pipe from a single goroutine per connection and direction, in the order the
// chunks were read; the toxics that cover a stream form a chain in the order they were added,
// and s.Write hands data to the next toxic of the chain (the last one writes to the socket).
// Pipe may call s.Write any number of times, wait with s.Sleep, s.SleepUntil or s.Stall, or end
// the connection with s.Close or s.Reset. data is only valid during the call.
// A Toxic value is shared by every connection: per-connection state belongs in Stateful.
type Toxic interface {
	Pipe(s *Stream, data []byte) error
}

// Stateful is implemented by toxics that keep state per connection and direction;
// Stream.State returns the value NewState made for the stream.
type Stateful interface {
	NewState() any
}

// Finisher is implemented by toxics that act when a stream ends: Finish is called once the
// source of the stream has closed its side (EOF), before the proxy passes the close on.
type Finisher interface {
	Finish(s *Stream) error
}

// Ender is implemented by toxics that end whole connections on a timer, data or not.
// End reports how long after the toxic starts to apply to a connection (when the toxic was
// added or when the connection was accepted, whichever is later) the connection ends, and
// whether by a reset (RST) rather than an orderly close. ok false means never.
type Ender interface {
	End() (after time.Duration, reset bool, ok bool)
}

// Refuser is implemented by toxics that make the proxy refuse new connections: while a Refuser
// with toxicity 1 is active, the proxy closes its listener so that clients get ECONNREFUSED.
type Refuser interface {
	Refuse() bool
}

// errEnded is returned by Stream methods once the connection has ended.
var errEnded = errors.New("connection ended")

// Stream is what a Toxic sees of one direction of one connection while it handles a chunk.
// It is only used from the goroutine that calls Pipe or Finish.
type Stream struct {
	l   *link
	e   *entry
	idx int
}

// Direction returns the direction of the stream: Upstream or Downstream.
func (s *Stream) Direction() Direction { return s.l.dir }

// Arrived returns when the proxy read the chunk being piped (or saw the end of the stream).
func (s *Stream) Arrived() time.Time { return s.l.arrived }

// Write passes data on to the next toxic of the chain, or to the destination socket.
func (s *Stream) Write(data []byte) error { return s.l.forward(s.idx+1, data) }

// State returns the per-stream state of a Stateful toxic, or nil.
func (s *Stream) State() any { return s.l.state(s.e) }

// Rand returns the stream's random source, seeded from the proxy seed and the connection.
func (s *Stream) Rand() *rand.Rand { return s.l.rng }

// Removed reports whether the toxic has been removed from the proxy: a toxic holding data
// back then lets it go.
func (s *Stream) Removed() bool { return !s.l.c.p.set.Load().has(s.e) }

// Sleep waits for d, or until the toxic is removed. It returns an error only if the
// connection ended meanwhile.
func (s *Stream) Sleep(d time.Duration) error { return s.SleepUntil(time.Now().Add(d)) }

// SleepUntil waits until t, or until the toxic is removed. It returns an error only if the
// connection ended meanwhile.
func (s *Stream) SleepUntil(t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return s.l.c.err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	return s.wait(timer.C)
}

// Stall waits until the toxic is removed. It returns an error only if the connection ended.
func (s *Stream) Stall() error { return s.wait(nil) }

func (s *Stream) wait(timer <-chan time.Time) error {
	for {
		set := s.l.c.p.set.Load()
		if !set.has(s.e) {
			return s.l.c.err()
		}
		select {
		case <-timer:
			return nil
		case <-set.changed:
		case <-s.l.c.done:
			return errEnded
		}
	}
}

// Close ends the whole connection with an orderly close and returns the error Pipe should return.
func (s *Stream) Close() error {
	s.l.c.end(false)
	return errEnded
}

// Reset ends the whole connection with a TCP reset (RST) to both peers and returns the error
// Pipe should return.
func (s *Stream) Reset() error {
	s.l.c.end(true)
	return errEnded
}
