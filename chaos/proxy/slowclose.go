package proxy

import (
	"fmt"
	"time"
)

// KindSlowClose is the kind of the SlowClose toxic.
const KindSlowClose = "slow-close"

var (
	_ Toxic    = (*SlowClose)(nil)
	_ Finisher = (*SlowClose)(nil)
)

// SlowClose holds back the close of a stream by Delay once its source has closed.
type SlowClose struct {
	Delay time.Duration
}

// slowCloseKind reads the delay of a spec, which must be above zero.
func slowCloseKind() toxicKind {
	return toxicKind{name: KindSlowClose, params: []string{"delay"},
		build: func(s ToxicSpec) (Toxic, error) {
			if s.Delay <= 0 {
				return nil, fmt.Errorf("delay %v: must be above zero", s.Delay)
			}
			return &SlowClose{Delay: s.Delay}, nil
		}}
}

// Pipe implements Toxic: data passes unchanged.
func (t *SlowClose) Pipe(s *Stream, data []byte) error { return s.Write(data) }

// Finish implements Finisher.
func (t *SlowClose) Finish(s *Stream) error { return s.Sleep(t.Delay) }
