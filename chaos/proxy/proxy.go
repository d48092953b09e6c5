package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// chunkSize is the size of the pooled buffers each stream reads into.
const chunkSize = 32 << 10

// Option configures a Proxy.
type Option func(*Proxy)

// WithRegisterer registers the proxy metrics on reg. Several proxies may share one registry:
// their series differ by the proxy label.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(p *Proxy) { p.reg = reg }
}

// WithSeed sets the seed that decides which connections a toxic with toxicity below 1 covers,
// and the jitter of latency toxics. The default seed is 1: runs repeat unless told otherwise.
func WithSeed(seed uint64) Option {
	return func(p *Proxy) { p.seed = seed }
}

// WithDialTimeout bounds each attempt to connect to an upstream (default 2s).
func WithDialTimeout(d time.Duration) Option {
	return func(p *Proxy) { p.dialTimeout = d }
}

// WithLogger sets where the proxy logs failed upstream connections (default: discarded).
func WithLogger(l *slog.Logger) Option {
	return func(p *Proxy) { p.log = l }
}

const (
	stateNew = iota
	stateStarted
	stateClosed
)

// Proxy is a TCP proxy with run-time faults. It accepts connections on one address and forwards
// each to one of its upstreams, round robin, skipping upstreams that refuse. Toxics added with
// AddToxic change the traffic of open and new connections until they are removed.
//
// All methods are safe for concurrent use. Start begins serving; Close (or the end of the
// context passed to Start) stops accepting, closes every connection and waits for all the
// goroutines of the proxy.
type Proxy struct {
	name        string
	listenAddr  string
	seed        uint64
	dialTimeout time.Duration
	log         *slog.Logger
	reg         prometheus.Registerer
	m           metrics
	bufs        sync.Pool // of *[]byte, chunkSize long

	upstreams atomic.Pointer[[]string]
	rr        atomic.Uint64            // round-robin position
	connSeq   atomic.Uint64            // connection ids
	set       atomic.Pointer[toxicSet] // written under mu, read lock-free per chunk

	mu        sync.Mutex
	state     int
	addr      string
	ln        net.Listener // nil while refusing (or not started)
	refusing  bool
	conns     map[*conn]struct{}
	toxicSeq  uint64
	closing   chan struct{} // closed by shutdown
	watchDone chan struct{} // closed when the Start context watcher has ended
	wg        sync.WaitGroup
}

// New returns a proxy named name (the value of its metrics' proxy label) that will listen on
// listenAddr ("" means 127.0.0.1:0, a free loopback port) and forward to upstreams (host:port).
func New(name, listenAddr string, upstreams []string, opts ...Option) (*Proxy, error) {
	if name == "" {
		return nil, errors.New("new proxy: name is empty")
	}
	if listenAddr == "" {
		listenAddr = "127.0.0.1:0"
	}
	if _, _, err := net.SplitHostPort(listenAddr); err != nil {
		return nil, fmt.Errorf("new proxy %q: listen address: %w", name, err)
	}
	if err := checkUpstreams(upstreams); err != nil {
		return nil, fmt.Errorf("new proxy %q: %w", name, err)
	}
	p := &Proxy{
		name:        name,
		listenAddr:  listenAddr,
		seed:        1,
		dialTimeout: 2 * time.Second,
		log:         slog.New(slog.DiscardHandler),
		conns:       map[*conn]struct{}{},
		closing:     make(chan struct{}),
	}
	for _, opt := range opts {
		opt(p)
	}
	m, err := newMetrics(p.reg, name)
	if err != nil {
		return nil, fmt.Errorf("new proxy %q: %w", name, err)
	}
	p.m = m
	p.bufs.New = func() any {
		b := make([]byte, chunkSize)
		return &b
	}
	ups := slices.Clone(upstreams)
	p.upstreams.Store(&ups)
	p.set.Store(&toxicSet{changed: make(chan struct{})})
	return p, nil
}

func checkUpstreams(upstreams []string) error {
	if len(upstreams) == 0 {
		return errors.New("no upstreams")
	}
	for _, u := range upstreams {
		if _, _, err := net.SplitHostPort(u); err != nil {
			return fmt.Errorf("upstream %q: %w", u, err)
		}
	}
	return nil
}

// Name returns the proxy name.
func (p *Proxy) Name() string { return p.name }

// Start listens and serves in the background until Close is called or ctx ends.
func (p *Proxy) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case stateStarted:
		return fmt.Errorf("start proxy %q: already started", p.name)
	case stateClosed:
		return fmt.Errorf("start proxy %q: closed", p.name)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", p.listenAddr)
	if err != nil {
		return fmt.Errorf("start proxy %q: %w", p.name, err)
	}
	p.state = stateStarted
	p.addr = ln.Addr().String()
	p.ln = ln
	if p.refusing { // a down toxic came before Start: keep the address, refuse connections
		_ = ln.Close()
		p.ln = nil
	}
	// The accept loop ends when shutdown closes p.closing.
	p.wg.Add(1)
	go p.acceptLoop()
	// The watcher ends when ctx ends (and shuts the proxy down) or when the proxy is closed.
	p.watchDone = make(chan struct{})
	go func() {
		defer close(p.watchDone)
		select {
		case <-ctx.Done():
			p.shutdown()
		case <-p.closing:
		}
	}()
	return nil
}

// Addr returns the address the proxy listens on, once started.
func (p *Proxy) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// Upstreams returns the current upstream addresses.
func (p *Proxy) Upstreams() []string { return slices.Clone(*p.upstreams.Load()) }

// SetUpstreams replaces the upstreams for new connections; open connections keep theirs.
func (p *Proxy) SetUpstreams(upstreams []string) error {
	if err := checkUpstreams(upstreams); err != nil {
		return fmt.Errorf("set upstreams of proxy %q: %w", p.name, err)
	}
	ups := slices.Clone(upstreams)
	p.upstreams.Store(&ups)
	return nil
}

// Close stops the proxy: it stops accepting, ends every connection and waits until all the
// goroutines of the proxy have returned. Toxics are dropped with it. Close is idempotent.
func (p *Proxy) Close() error {
	p.shutdown()
	p.mu.Lock()
	watchDone := p.watchDone
	p.mu.Unlock()
	if watchDone != nil {
		<-watchDone
	}
	return nil
}

func (p *Proxy) shutdown() {
	p.mu.Lock()
	if p.state == stateClosed {
		p.mu.Unlock()
		p.wg.Wait()
		return
	}
	p.state = stateClosed
	close(p.closing)
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	conns := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.end(false)
	}
	p.wg.Wait()
	p.m.active.Set(0)
}

// acceptLoop accepts connections until the proxy shuts down. While the proxy refuses
// connections it has no listener and waits for the toxic set to change.
func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	var backoff time.Duration
	for {
		p.mu.Lock()
		ln, closed, changed := p.ln, p.state == stateClosed, p.set.Load().changed
		p.mu.Unlock()
		if closed {
			return
		}
		if ln == nil {
			select {
			case <-changed:
			case <-p.closing:
				return
			}
			continue
		}
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				continue // closed by shutdown or by a down toxic: look again
			}
			// Resource exhaustion (EMFILE and the like): back off as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			p.log.Warn("proxy accept failed", "proxy", p.name, "err", err, "retry", backoff)
			select {
			case <-time.After(backoff):
			case <-p.closing:
				return
			}
			continue
		}
		backoff = 0
		p.accept(nc.(*net.TCPConn))
	}
}

// accept registers a new client connection and starts serving it.
func (p *Proxy) accept(client *net.TCPConn) {
	p.m.conns.Inc()
	c := &conn{
		p:      p,
		id:     p.connSeq.Add(1),
		start:  time.Now(),
		client: client,
		done:   make(chan struct{}),
	}
	p.mu.Lock()
	if p.state == stateClosed {
		p.mu.Unlock()
		_ = client.Close()
		return
	}
	p.conns[c] = struct{}{}
	p.wg.Add(1)
	for _, e := range p.set.Load().entries {
		c.arm(e) // a down toxic ends the connection here, before any dial
	}
	p.mu.Unlock()
	// serve ends when both streams of the connection have ended (see conn.serve).
	go c.serve()
}

func (p *Proxy) unregister(c *conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// dial connects to the next upstream in round-robin order, trying the others in turn when one
// fails, so that a dead upstream's share goes to the live ones.
func (p *Proxy) dial(ctx context.Context) (*net.TCPConn, error) {
	ups := *p.upstreams.Load()
	start := p.rr.Add(1) - 1
	d := net.Dialer{Timeout: p.dialTimeout}
	var errs []error
	for i := range ups {
		addr := ups[(start+uint64(i))%uint64(len(ups))]
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return nc.(*net.TCPConn), nil
		}
		p.m.dialErrors.Inc()
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("dial upstreams of proxy %q: %w", p.name, errors.Join(errs...))
}

func (p *Proxy) getBuf() *[]byte  { return p.bufs.Get().(*[]byte) }
func (p *Proxy) putBuf(b *[]byte) { p.bufs.Put(b) }

// entry is one active toxic.
type entry struct {
	spec  ToxicSpec // normalised: Name, Direction and Toxicity are set
	toxic Toxic
	seq   uint64    // order of addition, part of the toxicity decision
	added time.Time // when the toxic started to apply to open connections
}

// applies decides, the same way every time, whether the toxic covers connection id.
func (e *entry) applies(id, seed uint64) bool {
	if e.spec.Toxicity >= 1 {
		return true
	}
	x := splitmix64(seed ^ splitmix64(e.seq) ^ splitmix64(id+0x632be59bd9b4e019))
	return float64(x>>11)/(1<<53) < e.spec.Toxicity
}

// splitmix64 is the SplitMix64 mixing function: a counter-based random number generator.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// toxicSet is an immutable snapshot of the active toxics. changed is closed when a newer
// snapshot replaces it, which wakes toxics waiting on their own removal.
type toxicSet struct {
	entries []*entry
	changed chan struct{}
}

func (s *toxicSet) has(e *entry) bool {
	return slices.Contains(s.entries, e)
}

// AddToxic validates spec, adds the toxic it describes and returns its name. The toxic acts
// on open connections at once and on every new connection, until it is removed.
func (p *Proxy) AddToxic(spec ToxicSpec) (string, error) {
	t, err := NewToxic(spec)
	if err != nil {
		return "", fmt.Errorf("add toxic to proxy %q: %w", p.name, err)
	}
	if spec.Direction == "" {
		spec.Direction = Downstream
	}
	if spec.Kind == KindDown {
		spec.Direction = Both
	}
	if spec.Toxicity == 0 {
		spec.Toxicity = 1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == stateClosed {
		return "", fmt.Errorf("add toxic to proxy %q: proxy closed", p.name)
	}
	old := p.set.Load()
	p.toxicSeq++
	if spec.Name == "" {
		spec.Name = fmt.Sprintf("%s-%d", spec.Kind, p.toxicSeq)
		for n := 2; old.find(spec.Name) != nil; n++ { // a user took the name
			spec.Name = fmt.Sprintf("%s-%d-%d", spec.Kind, p.toxicSeq, n)
		}
	}
	if old.find(spec.Name) != nil {
		return "", fmt.Errorf("add toxic to proxy %q: a toxic named %q exists", p.name, spec.Name)
	}
	e := &entry{spec: spec, toxic: t, seq: p.toxicSeq, added: time.Now()}
	err = p.publish(append(slices.Clone(old.entries), e))
	for c := range p.conns {
		c.arm(e)
	}
	if err != nil {
		return spec.Name, fmt.Errorf("add toxic to proxy %q: %w", p.name, err)
	}
	return spec.Name, nil
}

// RemoveToxic removes the named toxic. Data it holds back is released.
func (p *Proxy) RemoveToxic(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.set.Load()
	e := old.find(name)
	if e == nil {
		return fmt.Errorf("remove toxic from proxy %q: no toxic named %q", p.name, name)
	}
	entries := slices.DeleteFunc(slices.Clone(old.entries), func(x *entry) bool { return x == e })
	return p.removed(entries, []*entry{e})
}

// RemoveAll removes every toxic.
func (p *Proxy) RemoveAll() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.set.Load()
	if len(old.entries) == 0 {
		return nil
	}
	return p.removed(nil, old.entries)
}

// removed publishes entries after gone were taken out. p.mu is held.
func (p *Proxy) removed(entries, gone []*entry) error {
	err := p.publish(entries)
	for c := range p.conns {
		for _, e := range gone {
			c.disarm(e)
		}
	}
	if err != nil {
		return fmt.Errorf("remove toxic from proxy %q: %w", p.name, err)
	}
	return nil
}

// Toxics returns the specs of the active toxics in the order they were added.
func (p *Proxy) Toxics() []ToxicSpec {
	entries := p.set.Load().entries
	specs := make([]ToxicSpec, len(entries))
	for i, e := range entries {
		specs[i] = e.spec
	}
	return specs
}

func (s *toxicSet) find(name string) *entry {
	for _, e := range s.entries {
		if e.spec.Name == name {
			return e
		}
	}
	return nil
}

// publish makes entries the active toxics, wakes the toxics waiting on a change, and opens or
// closes the listener as Refuser toxics demand. p.mu is held.
func (p *Proxy) publish(entries []*entry) error {
	old := p.set.Load()
	p.set.Store(&toxicSet{entries: entries, changed: make(chan struct{})})
	close(old.changed)
	p.m.toxics.Set(float64(len(entries)))

	refuse := false
	for _, e := range entries {
		if r, ok := e.toxic.(Refuser); ok && r.Refuse() && e.spec.Toxicity >= 1 {
			refuse = true
		}
	}
	p.refusing = refuse
	if p.state != stateStarted {
		return nil
	}
	switch {
	case refuse && p.ln != nil:
		_ = p.ln.Close()
		p.ln = nil
	case !refuse && p.ln == nil:
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			return fmt.Errorf("listen again on %s: %w", p.addr, err)
		}
		p.ln = ln
	}
	return nil
}
