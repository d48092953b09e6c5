package proxy

import "time"

// KindTimeout is the kind of the Timeout toxic.
const KindTimeout = "timeout"

var (
	_ Toxic    = (*Timeout)(nil)
	_ Ender    = (*Timeout)(nil)
	_ Finisher = (*Timeout)(nil)
)

// Timeout blackholes a stream: neither data nor the close of its source passes while the toxic
// is active (both are held back, and delivered if the toxic is removed before the connection
// ends). If Timeout is above zero, the connection is closed Timeout after the toxic starts to
// apply to it.
type Timeout struct {
	Timeout time.Duration
}

// timeoutKind reads the timeout of a spec: zero (blackhole until removed) or more.
func timeoutKind() toxicKind {
	return toxicKind{name: KindTimeout, params: []string{"timeout"},
		build: func(s ToxicSpec) (Toxic, error) {
			return &Timeout{Timeout: s.Timeout}, negative("timeout", s.Timeout)
		}}
}

// Pipe implements Toxic.
func (t *Timeout) Pipe(s *Stream, data []byte) error {
	if err := s.Stall(); err != nil {
		return err
	}
	return s.Write(data)
}

// Finish implements Finisher: the close is held back like the data.
func (t *Timeout) Finish(s *Stream) error { return s.Stall() }

// End implements Ender.
func (t *Timeout) End() (time.Duration, bool, bool) { return t.Timeout, false, t.Timeout > 0 }
