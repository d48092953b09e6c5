package proxy

import "time"

// KindDown is the kind of the Down toxic.
const KindDown = "down"

var (
	_ Toxic   = (*Down)(nil)
	_ Ender   = (*Down)(nil)
	_ Refuser = (*Down)(nil)
)

// Down takes the proxy down: with toxicity 1 it closes the listener, so new connections are
// refused (ECONNREFUSED), and closes every open connection; with a lower toxicity it closes
// that share of open and new connections instead.
type Down struct{}

// downKind takes no parameters.
func downKind() toxicKind {
	return toxicKind{name: KindDown, build: func(ToxicSpec) (Toxic, error) { return &Down{}, nil }}
}

// Pipe implements Toxic: a down connection passes nothing.
func (t *Down) Pipe(s *Stream, data []byte) error { return s.Close() }

// End implements Ender: covered connections end at once.
func (t *Down) End() (time.Duration, bool, bool) { return 0, false, true }

// Refuse implements Refuser.
func (t *Down) Refuse() bool { return true }
