package loadgen

import "time"

// SetSlowDispatch makes the scheduling loop sleep d before every dispatch, to simulate a
// generator that is starved of CPU.
func SetSlowDispatch(o *Options, d time.Duration) { o.slowDispatch = d }

// Chromium is a running headless Chromium that tests share between runs.
type Chromium = chromium

// StartChromium starts headless Chromium (see FindChromium).
func StartChromium() (*Chromium, error) { return startChromium() }

// Close stops it.
func (c *chromium) Close() { c.close() }

// PID is the browser process's id.
func (c *chromium) PID() int { return c.pid() }

// SetChromium makes runs with o use c instead of starting a Chromium of their own.
func SetChromium(o *Options, c *Chromium) { o.chrome = c }
