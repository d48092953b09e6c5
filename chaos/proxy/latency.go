package proxy

import (
	"errors"
	"time"
)

// KindLatency is the kind of the Latency toxic.
const KindLatency = "latency"

var _ Toxic = (*Latency)(nil)

// Latency delays every chunk by Latency, plus or minus a uniform random Jitter, counted from
// when the chunk arrived at the proxy: chunks are pipelined, so a stream's throughput is kept.
type Latency struct {
	Latency time.Duration
	Jitter  time.Duration
}

// latencyKind reads the latency and jitter of a spec; at least one must be above zero.
func latencyKind() toxicKind {
	return toxicKind{name: KindLatency, params: []string{"latency", "jitter"},
		build: func(s ToxicSpec) (Toxic, error) {
			var needs error
			if s.Latency == 0 && s.Jitter == 0 {
				needs = errors.New("latency: a latency toxic needs latency or jitter above zero")
			}
			err := errors.Join(negative("latency", s.Latency), negative("jitter", s.Jitter), needs)
			return &Latency{Latency: s.Latency, Jitter: s.Jitter}, err
		}}
}

// Pipe implements Toxic.
func (t *Latency) Pipe(s *Stream, data []byte) error {
	delay := t.Latency
	if t.Jitter > 0 {
		delay += time.Duration(s.Rand().Int64N(int64(2*t.Jitter)+1)) - t.Jitter
	}
	if err := s.SleepUntil(s.Arrived().Add(delay)); err != nil {
		return err
	}
	return s.Write(data)
}
