package proxy

import (
	"fmt"
	"time"
)

// KindBandwidth is the kind of the Bandwidth toxic.
const KindBandwidth = "bandwidth"

var (
	_ Toxic    = (*Bandwidth)(nil)
	_ Stateful = (*Bandwidth)(nil)
)

// Bandwidth limits a stream to Rate bytes per second, sending at most a tenth of a second's
// worth of data at a time.
type Bandwidth struct {
	Rate int64
}

// bandwidthKind reads the rate of a spec, which must be above zero.
func bandwidthKind() toxicKind {
	return toxicKind{name: KindBandwidth, params: []string{"rate"},
		build: func(s ToxicSpec) (Toxic, error) {
			if s.Rate <= 0 {
				return nil, fmt.Errorf("rate %d: must be above zero bytes per second", s.Rate)
			}
			return &Bandwidth{Rate: s.Rate}, nil
		}}
}

type bandwidthState struct {
	next time.Time // when the next piece may be sent
}

// NewState implements Stateful.
func (t *Bandwidth) NewState() any { return &bandwidthState{} }

// Pipe implements Toxic.
func (t *Bandwidth) Pipe(s *Stream, data []byte) error {
	st := s.State().(*bandwidthState)
	piece := max(t.Rate/10, 1)
	for len(data) > 0 {
		if s.Removed() {
			return s.Write(data)
		}
		n := min(piece, int64(len(data)))
		if now := time.Now(); st.next.Before(now) {
			st.next = now // idle time earns no burst
		}
		if err := s.SleepUntil(st.next); err != nil {
			return err
		}
		if err := s.Write(data[:n]); err != nil {
			return err
		}
		st.next = st.next.Add(time.Duration(n) * time.Second / time.Duration(t.Rate))
		data = data[n:]
	}
	return nil
}
