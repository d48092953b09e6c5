package loadgen

import (
	"fmt"
	"io"
	"time"
)

// progress writes the progress output of a run from its own goroutine.
type progress struct {
	done chan struct{}
	exit chan struct{}
}

// startProgress starts the progress goroutine; stop ends it (and writes the last line).
func startProgress(e *engine, r *recorder, w io.Writer, tty bool) *progress {
	p := &progress{done: make(chan struct{}), exit: make(chan struct{})}
	if w == nil {
		close(p.exit)
		return p
	}
	every := 5 * time.Second
	if tty {
		every = 250 * time.Millisecond
	}
	go func() { // ends when stop closes p.done
		defer close(p.exit)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				writeProgress(w, e, r, tty, false)
			case <-p.done:
				writeProgress(w, e, r, tty, true)
				return
			}
		}
	}()
	return p
}

func (p *progress) stop() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	<-p.exit
}

func writeProgress(w io.Writer, e *engine, r *recorder, tty, last bool) {
	l := r.published.Load()
	elapsed := min(time.Since(e.start), e.duration+DispatchGrace).Truncate(time.Second)
	errPct := 0.0
	if l.count > 0 {
		errPct = 100 * float64(l.errors) / float64(l.count)
	}
	line := fmt.Sprintf("  %s/%s  rate %.0f/s  p99 %s  errors %.1f%%  in-flight %d",
		elapsed, e.duration, l.rate, fmtMS(l.p99), errPct, e.inFlight.Load())
	switch {
	case tty && last:
		fmt.Fprintf(w, "\r%s\x1b[K\n", line)
	case tty:
		fmt.Fprintf(w, "\r%s\x1b[K", line)
	default:
		fmt.Fprintln(w, line)
	}
}

// fmtMS formats milliseconds with three significant digits: 0.412ms, 12.3ms, 1234ms.
func fmtMS(v float64) string {
	switch {
	case v < 1:
		return fmt.Sprintf("%.3fms", v)
	case v < 10:
		return fmt.Sprintf("%.2fms", v)
	case v < 100:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.0fms", v)
}
