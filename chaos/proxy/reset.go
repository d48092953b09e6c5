package proxy

import "time"

// KindReset is the kind of the Reset toxic.
const KindReset = "reset"

var _ Toxic = (*Reset)(nil)

// Reset drops the first chunk that reaches it and resets the connection (RST to both peers)
// Timeout after that chunk arrived.
type Reset struct {
	Timeout time.Duration
}

// resetKind reads the timeout of a spec: zero (reset at once) or more.
func resetKind() toxicKind {
	return toxicKind{name: KindReset, params: []string{"timeout"},
		build: func(s ToxicSpec) (Toxic, error) {
			return &Reset{Timeout: s.Timeout}, negative("timeout", s.Timeout)
		}}
}

// Pipe implements Toxic.
func (t *Reset) Pipe(s *Stream, data []byte) error {
	if err := s.SleepUntil(s.Arrived().Add(t.Timeout)); err != nil {
		return err
	}
	if s.Removed() {
		return s.Write(data)
	}
	return s.Reset()
}
