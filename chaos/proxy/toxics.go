package proxy

import "time"

// Compile-time checks that every toxic has the behaviour the proxy relies on.
var (
	_ Toxic    = (*Latency)(nil)
	_ Toxic    = (*Bandwidth)(nil)
	_ Stateful = (*Bandwidth)(nil)
	_ Toxic    = (*SlowClose)(nil)
	_ Finisher = (*SlowClose)(nil)
	_ Toxic    = (*Timeout)(nil)
	_ Ender    = (*Timeout)(nil)
	_ Finisher = (*Timeout)(nil)
	_ Toxic    = (*Reset)(nil)
	_ Toxic    = (*LimitData)(nil)
	_ Stateful = (*LimitData)(nil)
	_ Toxic    = (*Down)(nil)
	_ Ender    = (*Down)(nil)
	_ Refuser  = (*Down)(nil)
)

// Latency delays every chunk by Latency, plus or minus a uniform random Jitter, counted from
// when the chunk arrived at the proxy: chunks are pipelined, so a stream's throughput is kept.
type Latency struct {
	Latency time.Duration
	Jitter  time.Duration
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

// Bandwidth limits a stream to Rate bytes per second, sending at most a tenth of a second's
// worth of data at a time.
type Bandwidth struct {
	Rate int64
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

// SlowClose holds back the close of a stream by Delay once its source has closed.
type SlowClose struct {
	Delay time.Duration
}

// Pipe implements Toxic: data passes unchanged.
func (t *SlowClose) Pipe(s *Stream, data []byte) error { return s.Write(data) }

// Finish implements Finisher.
func (t *SlowClose) Finish(s *Stream) error { return s.Sleep(t.Delay) }

// Timeout blackholes a stream: neither data nor the close of its source passes while the toxic
// is active (both are held back, and delivered if the toxic is removed before the connection
// ends). If Timeout is above zero, the connection is closed Timeout after the toxic starts to
// apply to it.
type Timeout struct {
	Timeout time.Duration
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

// Reset drops the first chunk that reaches it and resets the connection (RST to both peers)
// Timeout after that chunk arrived.
type Reset struct {
	Timeout time.Duration
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

// LimitData lets Bytes bytes of a stream through and then closes the connection.
type LimitData struct {
	Bytes int64
}

type limitState struct {
	passed int64
}

// NewState implements Stateful.
func (t *LimitData) NewState() any { return &limitState{} }

// Pipe implements Toxic.
func (t *LimitData) Pipe(s *Stream, data []byte) error {
	st := s.State().(*limitState)
	left := t.Bytes - st.passed
	if int64(len(data)) < left {
		st.passed += int64(len(data))
		return s.Write(data)
	}
	if left > 0 {
		st.passed += left
		if err := s.Write(data[:left]); err != nil {
			return err
		}
	}
	return s.Close()
}

// Down takes the proxy down: with toxicity 1 it closes the listener, so new connections are
// refused (ECONNREFUSED), and closes every open connection; with a lower toxicity it closes
// that share of open and new connections instead.
type Down struct{}

// Pipe implements Toxic: a down connection passes nothing.
func (t *Down) Pipe(s *Stream, data []byte) error { return s.Close() }

// End implements Ender: covered connections end at once.
func (t *Down) End() (time.Duration, bool, bool) { return 0, false, true }

// Refuse implements Refuser.
func (t *Down) Refuse() bool { return true }
