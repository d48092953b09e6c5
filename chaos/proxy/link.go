package proxy

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// queueLen is how many chunks a stream holds while its toxics delay them; when it is full
// the stream stops reading and TCP flow control pushes back on the sender.
const queueLen = 16

// conn is one proxied connection: a client socket, the upstream socket dialled for it, and
// the two streams between them.
type conn struct {
	p      *Proxy
	id     uint64
	start  time.Time
	client *net.TCPConn
	done   chan struct{} // closed by end

	mu     sync.Mutex
	server *net.TCPConn // set once dialled
	cancel context.CancelFunc
	timers map[*entry]*time.Timer
	ended  bool
}

// serve dials an upstream and runs both streams until each has ended; it then closes both
// sockets. It is started by accept and ends with the connection.
func (c *conn) serve() {
	defer c.p.wg.Done()
	defer c.p.unregister(c)
	defer c.end(false)
	c.p.m.active.Inc()
	defer c.p.m.active.Dec()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.cancel = cancel
	c.mu.Unlock()

	server, err := c.p.dial(ctx)
	if err != nil {
		if c.err() == nil { // not merely cut short by Close or a toxic
			c.p.log.Warn("proxy could not reach an upstream", "proxy", c.p.name, "err", err)
		}
		return
	}
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		_ = server.Close()
		return
	}
	c.server = server
	c.mu.Unlock()

	up := &link{c: c, dir: Upstream, src: c.client, dst: server, bytes: c.p.m.bytesUp}
	down := &link{c: c, dir: Downstream, src: server, dst: c.client, bytes: c.p.m.bytesDown}
	downDone := make(chan struct{})
	// The downstream goroutine ends when the server side reaches EOF or the connection ends.
	go func() {
		defer close(downDone)
		down.run()
	}()
	up.run()
	<-downDone
}

// end closes the connection once: a reset sets SO_LINGER to 0 first, so that both peers get a
// RST instead of a FIN. It wakes every goroutine of the connection. It never takes p.mu.
func (c *conn) end(reset bool) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
	server, cancel := c.server, c.cancel
	c.mu.Unlock()

	close(c.done)
	if cancel != nil {
		cancel()
	}
	for _, s := range []*net.TCPConn{c.client, server} {
		if s == nil {
			continue
		}
		if reset {
			_ = s.SetLinger(0)
		}
		_ = s.Close()
	}
}

// err returns errEnded once the connection has ended.
func (c *conn) err() error {
	select {
	case <-c.done:
		return errEnded
	default:
		return nil
	}
}

// arm starts the timer of an Ender toxic that covers the connection, or ends the connection
// at once if the time has come. p.mu is held.
func (c *conn) arm(e *entry) {
	en, ok := e.toxic.(Ender)
	if !ok {
		return
	}
	after, reset, ok := en.End()
	if !ok || !e.applies(c.id, c.p.seed) {
		return
	}
	from := e.added
	if c.start.After(from) {
		from = c.start
	}
	d := time.Until(from.Add(after))
	if d <= 0 {
		c.end(reset)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	if c.timers == nil {
		c.timers = map[*entry]*time.Timer{}
	}
	// The timer's goroutine only ends the connection; disarm or end stops the timer.
	c.timers[e] = time.AfterFunc(d, func() { c.end(reset) })
}

// disarm stops the timer of a removed toxic.
func (c *conn) disarm(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.timers[e]; ok {
		t.Stop()
		delete(c.timers, e)
	}
}

// link is one direction of a connection. Its reader (run) copies from src to dst with a
// pooled buffer as long as no toxic covers it; once one does, chunks go through a queue to a
// writer goroutine that passes them down the toxic chain, so that delays are pipelined and a
// stalled writer does not stop the reader from noticing the connection's end. The reader
// writes directly again once the queue is empty and no toxic covers the stream.
type link struct {
	c        *conn
	dir      Direction
	src, dst *net.TCPConn
	bytes    prometheus.Counter

	pending atomic.Int64 // chunks queued and not yet written

	// Owned by the reader.
	rset       *toxicSet
	covered    bool
	queue      chan chunk
	writerDone chan struct{}

	// Owned by the writer.
	wset    *toxicSet
	chain   []*entry
	streams []Stream
	states  map[*entry]any
	rng     *rand.Rand
	arrived time.Time
}

// chunk is data read from src (or, with eof, the end of src) on its way to the writer.
type chunk struct {
	data   []byte
	pooled *[]byte // the pooled buffer data lies in, if any: the writer returns it
	at     time.Time
	eof    bool
}

// smallChunk is the size up to which a queued chunk is copied out of the reader's buffer
// rather than taking it, so that many stalled connections hold little memory.
const smallChunk = 4 << 10

// run reads src until EOF or an error and forwards everything to dst.
func (l *link) run() {
	p := l.c.p
	buf := p.getBuf()
	defer func() { p.putBuf(buf) }()
	defer l.stopWriter()
	for {
		n, err := l.src.Read(*buf)
		if n > 0 {
			if l.pending.Load() == 0 && !l.isCovered() {
				if _, werr := l.dst.Write((*buf)[:n]); werr != nil {
					l.c.end(false)
					return
				}
				l.bytes.Add(float64(n))
			} else {
				ch := chunk{at: time.Now()}
				if n <= smallChunk {
					ch.data = append([]byte(nil), (*buf)[:n]...)
				} else {
					ch.data, ch.pooled = (*buf)[:n], buf
				}
				if !l.enqueue(ch) {
					return
				}
				if ch.pooled != nil {
					buf = p.getBuf()
				}
			}
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, io.EOF) {
			// A reset from one peer is passed on to the other as a reset.
			l.c.end(errors.Is(err, syscall.ECONNRESET))
			return
		}
		if l.pending.Load() == 0 && !l.isCovered() {
			_ = l.dst.CloseWrite()
		} else {
			l.enqueue(chunk{at: time.Now(), eof: true})
		}
		return
	}
}

// isCovered reports whether a toxic covers this stream, re-deciding only when the set changed.
func (l *link) isCovered() bool {
	set := l.c.p.set.Load()
	if set != l.rset {
		l.rset = set
		l.covered = false
		for _, e := range set.entries {
			if e.spec.Direction.covers(l.dir) && e.applies(l.c.id, l.c.p.seed) {
				l.covered = true
				break
			}
		}
	}
	return l.covered
}

// enqueue hands a chunk (and its buffer) to the writer, starting the writer the first time.
// It reports false, leaving the buffer with the caller, if the connection ended first.
func (l *link) enqueue(ch chunk) bool {
	if l.queue == nil {
		l.queue = make(chan chunk, queueLen)
		l.writerDone = make(chan struct{})
		go l.write() // ends when run closes the queue (stopWriter) or the connection ends
	}
	l.pending.Add(1)
	select {
	case l.queue <- ch:
		return true
	case <-l.c.done:
		l.pending.Add(-1)
		return false // the caller keeps the buffer
	}
}

// stopWriter lets the writer drain the queue and waits for it.
func (l *link) stopWriter() {
	if l.queue == nil {
		return
	}
	close(l.queue)
	<-l.writerDone
}

// write passes queued chunks down the toxic chain.
func (l *link) write() {
	defer close(l.writerDone)
	dirBit := uint64(0)
	if l.dir == Downstream {
		dirBit = 1
	}
	l.rng = rand.New(rand.NewPCG(l.c.p.seed, l.c.id<<1|dirBit))
	l.states = map[*entry]any{}
	for {
		select {
		case ch, ok := <-l.queue:
			if !ok {
				return
			}
			err := l.process(ch)
			if ch.pooled != nil {
				l.c.p.putBuf(ch.pooled)
			}
			l.pending.Add(-1)
			if err != nil {
				l.c.end(false)
				return
			}
		case <-l.c.done:
			return
		}
	}
}

// process sends one chunk through the chain of the toxics active when it is taken up.
func (l *link) process(ch chunk) error {
	l.refreshChain()
	l.arrived = ch.at
	if !ch.eof {
		return l.forward(0, ch.data)
	}
	for i, e := range l.chain {
		if f, ok := e.toxic.(Finisher); ok {
			if err := f.Finish(&l.streams[i]); err != nil {
				return err
			}
		}
	}
	_ = l.dst.CloseWrite()
	return nil
}

// forward hands data to toxic i of the chain, or writes it to dst after the last one.
func (l *link) forward(i int, data []byte) error {
	if i < len(l.chain) {
		return l.chain[i].toxic.Pipe(&l.streams[i], data)
	}
	if len(data) == 0 {
		return nil
	}
	if _, err := l.dst.Write(data); err != nil {
		return err
	}
	l.bytes.Add(float64(len(data)))
	return nil
}

// refreshChain rebuilds the writer's chain when the toxic set has changed, keeping the state
// of toxics that are still active.
func (l *link) refreshChain() {
	set := l.c.p.set.Load()
	if set == l.wset {
		return
	}
	l.wset = set
	l.chain = l.chain[:0]
	for _, e := range set.entries {
		if e.spec.Direction.covers(l.dir) && e.applies(l.c.id, l.c.p.seed) {
			l.chain = append(l.chain, e)
		}
	}
	l.streams = make([]Stream, len(l.chain))
	for i, e := range l.chain {
		l.streams[i] = Stream{l: l, e: e, idx: i}
	}
	for e := range l.states {
		if !set.has(e) {
			delete(l.states, e)
		}
	}
}

// state returns the per-stream state of a Stateful toxic.
func (l *link) state(e *entry) any {
	if v, ok := l.states[e]; ok {
		return v
	}
	st, ok := e.toxic.(Stateful)
	if !ok {
		return nil
	}
	v := st.NewState()
	l.states[e] = v
	return v
}
