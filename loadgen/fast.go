package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trendtactics/loadlab/scenarios"
	"github.com/valyala/fasthttp"
)

// Transports of a request, as the result records them (result.RequestStats.Transport).
const (
	transportFast    = "fast"
	transportNetHTTP = "nethttp"
)

// fastIdle is how long the fast client keeps an idle connection. fasthttp's per-host
// cleaner goroutine sleeps this long between rounds and ends only when its connections are
// gone, so it bounds how long after Run that goroutine lives (net/http's transport has none).
// Hot connections are reused last-in first-out, so only the surplus of a burst expires.
const fastIdle = 2 * time.Second

// fastReadBuffer is each fast connection's read buffer, which also bounds a response's headers.
const fastReadBuffer = 16 << 10

// errStopped is the dial error of a fast client that was stopped (the run was interrupted).
var errStopped = errors.New("the run was stopped")

// TransportChoice is the client that sends one request name, and why.
type TransportChoice struct {
	Request   string
	Transport string // "fast" or "nethttp"
	Why       string // for nethttp under auto: what the fast client lacks
}

// Transports returns the client of each request name of spec, in workload order, with the
// base URL of the run ("" for a lab, whose edge is plain HTTP) and the spec's transport
// (or override, when not ""). It returns the problems of a transport fast that cannot serve
// a request as the scenario loader reports them.
func Transports(spec *scenarios.Spec, base, override string) ([]TransportChoice, error) {
	mode, err := transportMode(spec, override)
	if err != nil {
		return nil, err
	}
	var out []TransportChoice
	for _, it := range spec.Workload {
		if it == nil {
			continue
		}
		for _, s := range stepsOf(it) {
			fast, why := chooseTransport(mode, s.req, base)
			c := TransportChoice{Request: s.name, Transport: transportNetHTTP, Why: why}
			if fast {
				c.Transport = transportFast
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// transportMode is the transport of a run: override when set, else the spec's, checked.
func transportMode(spec *scenarios.Spec, override string) (string, error) {
	mode := spec.Transport
	if override != "" {
		s, err := spec.WithTransport(override)
		if err != nil {
			return "", err
		}
		mode = s.Transport
	} else if mode == scenarios.TransportFast {
		if _, err := spec.WithTransport(mode); err != nil { // a hand-built spec
			return "", err
		}
	}
	if mode == "" {
		mode = scenarios.TransportAuto
	}
	return mode, nil
}

// chooseTransport says whether the fast client sends r under mode, and else why not.
// Under auto it takes plain HTTP/1.1 requests: no kind, no CONNECT, and an http:// URL
// (an https:// one may speak HTTP/2 with net/http; a URL rendered from a template has a
// scheme known only at run time). Under fast it takes every request that transportMode let
// through, https:// as HTTP/1.1 over TLS.
func chooseTransport(mode string, r *scenarios.Request, base string) (fast bool, why string) {
	switch mode {
	case scenarios.TransportNetHTTP:
		return false, ""
	case scenarios.TransportFast:
		return true, ""
	}
	if why := r.FastUnsupported(); why != "" {
		return false, why
	}
	src := ""
	if r.URL != nil {
		src = r.URL.Source
	}
	switch {
	case hasPrefixFold(src, "https://"):
		return false, "https: HTTP/2 where offered"
	case hasPrefixFold(src, "http://"):
		return true, ""
	case strings.HasPrefix(src, "{{"):
		return false, "a URL whose scheme is rendered"
	case hasPrefixFold(base, "https://"):
		return false, "https: HTTP/2 where offered"
	}
	return true, ""
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// fastClient is the fast HTTP/1.1 transport: one fasthttp.HostClient per scheme and host,
// each with up to conns connections, dialled as net/http's transport dials (10 s connect
// timeout, 30 s keep-alive, no proxy), certificates verified. stop closes every connection,
// in use or idle, so that the requests of an interrupted run end at once (fasthttp takes no
// context). Its methods are safe for concurrent use.
type fastClient struct {
	conns  int
	dialer net.Dialer
	tls    *tls.Config // of every host (nil: fasthttp's default)

	mu     sync.RWMutex // guards hosts; open and stopped are guarded by connMu
	hosts  map[string]*fasthttp.HostClient
	connMu sync.Mutex
	open   map[*fastConn]struct{}
	closed bool
}

func newFastClient(conns int) *fastClient {
	return &fastClient{conns: conns, dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		hosts: map[string]*fasthttp.HostClient{}, open: map[*fastConn]struct{}{}}
}

// host returns the client of the request's scheme and host.
func (f *fastClient) host(req *fasthttp.Request) *fasthttp.HostClient {
	u := req.URI()
	tls := bytes.EqualFold(u.Scheme(), []byte("https"))
	var buf [128]byte
	key := append(append(buf[:0], u.Scheme()...), u.Host()...)
	f.mu.RLock()
	hc := f.hosts[string(key)]
	f.mu.RUnlock()
	if hc != nil {
		return hc
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if hc = f.hosts[string(key)]; hc != nil {
		return hc
	}
	hc = &fasthttp.HostClient{
		Addr:                   fasthttp.AddMissingPort(string(u.Host()), tls),
		IsTLS:                  tls,
		TLSConfig:              f.tls,
		DialTimeout:            f.dial,
		MaxConns:               f.conns,
		MaxIdleConnDuration:    fastIdle,
		ConnPoolStrategy:       fasthttp.LIFO,
		ReadBufferSize:         fastReadBuffer,
		DisablePathNormalizing: true, // send the URL as the scenario wrote it
		RetryIfErr:             retryStale,
	}
	f.hosts[string(key)] = hc
	return hc
}

// retryStale retries a replayable request (as net/http judges one: an idempotent method or
// an idempotency key) once when the server closed a kept-alive connection before answering:
// what net/http retries too. Other errors are the target's and are counted.
func retryStale(req *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	if attempts > 1 || !(errors.Is(err, fasthttp.ErrConnectionClosed) || errors.Is(err, io.EOF)) {
		return false, false
	}
	switch string(req.Header.Method()) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false, true
	}
	return false, req.Header.Peek(scenarios.IdempotencyHeader) != nil || req.Header.Peek("X-Idempotency-Key") != nil
}

func (f *fastClient) dial(addr string, timeout time.Duration) (net.Conn, error) {
	f.connMu.Lock()
	closed := f.closed
	f.connMu.Unlock()
	if closed {
		return nil, errStopped
	}
	d := f.dialer
	if timeout > 0 && timeout < d.Timeout {
		d.Timeout = timeout
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	fc := &fastConn{Conn: c, f: f}
	f.connMu.Lock()
	defer f.connMu.Unlock()
	if f.closed {
		c.Close()
		return nil, errStopped
	}
	f.open[fc] = struct{}{}
	return fc, nil
}

// stop closes every connection and refuses new ones.
func (f *fastClient) stop() {
	f.connMu.Lock()
	f.closed = true
	open := f.open
	f.open = map[*fastConn]struct{}{}
	f.connMu.Unlock()
	for c := range open {
		c.Conn.Close()
	}
}

// closeIdle closes the idle connections (the run is over).
func (f *fastClient) closeIdle() {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, hc := range f.hosts {
		hc.CloseIdleConnections()
	}
}

// fastConn is a connection the fast client tracks until it is closed. It sets the
// deadlines fasthttp asks for coarsely: each request asks for its own (before it writes
// and before it reads), and moving a connection's deadline costs a runtime timer update,
// 1.5 % of the CPU at 5000/s. A deadline in force that falls after the one asked for, by
// less than its slack, stands; else the deadline set is the one asked for plus its slack.
// So a timeout ends a request between its time and that plus the slack (at most
// maxDeadlineSlack, a sixteenth of a short timeout), never before.
type fastConn struct {
	net.Conn
	f               *fastClient
	once            sync.Once
	readBy, writeBy time.Time // the deadlines in force (zero: none)
}

// maxDeadlineSlack bounds how late a fast connection's deadline may fire.
const maxDeadlineSlack = 10 * time.Millisecond

// coarseDeadline returns the deadline to set for one asked for (t) where by is in force,
// and whether to set it; when it is to be set, by becomes it.
func coarseDeadline(by *time.Time, t time.Time) (time.Time, bool) {
	at, set := t, !by.IsZero()
	if !t.IsZero() {
		slack := min(time.Until(t)/16, maxDeadlineSlack)
		if set && !by.Before(t) && by.Sub(t) <= slack {
			return *by, false
		}
		at, set = t.Add(max(slack, 0)), true
	}
	if set {
		*by = at
	}
	return at, set
}

func (c *fastConn) SetReadDeadline(t time.Time) error {
	if at, set := coarseDeadline(&c.readBy, t); set {
		return c.Conn.SetReadDeadline(at)
	}
	return nil
}

func (c *fastConn) SetWriteDeadline(t time.Time) error {
	if at, set := coarseDeadline(&c.writeBy, t); set {
		return c.Conn.SetWriteDeadline(at)
	}
	return nil
}

func (c *fastConn) SetDeadline(t time.Time) error {
	c.readBy, c.writeBy = t, t
	return c.Conn.SetDeadline(t)
}

func (c *fastConn) Close() error {
	c.once.Do(func() {
		c.f.connMu.Lock()
		delete(c.f.open, c)
		c.f.connMu.Unlock()
	})
	return c.Conn.Close()
}

// renderFast renders st's request for an iteration into req, as scenarios.Request.Build
// renders it (URL, body, then headers), and returns the URL. it is nil for a literal request
// (st.url set).
func renderFast(req *fasthttp.Request, st *estep, it *scenarios.Iteration, base string) (string, error) {
	r, u := st.req, st.url
	if u == "" {
		var err error
		if u, err = r.RenderURL(it, base); err != nil {
			return "", err
		}
	}
	if r.Body != nil {
		b, err := r.Body.Execute(it)
		if err != nil {
			return u, fmt.Errorf("render body: %w", err)
		}
		req.SetBodyString(b)
	}
	if r.Method != "" {
		req.Header.SetMethod(r.Method)
	}
	req.SetRequestURI(u)
	if len(req.URI().Host()) == 0 {
		return u, fmt.Errorf("build request: no host in URL %q", u)
	}
	for k, t := range r.Headers {
		v, err := t.Execute(it)
		if err != nil {
			return u, fmt.Errorf("render header %s: %w", k, err)
		}
		if strings.EqualFold(k, "Host") {
			req.UseHostHeader = true
			req.Header.SetHost(v)
			continue
		}
		req.Header.Set(k, v)
	}
	return u, nil
}

// doFast sends one plain request with the fast client and records it, as do does with
// net/http; jar is the flow iteration's cookie jar (nil for a single request).
func (e *engine) doFast(ctx context.Context, jar *cookiejar.Jar, it *scenarios.Iteration, st *estep, origin time.Duration, first *job) bool {
	var req *fasthttp.Request
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	s := sample{name: st.idx}
	u := st.url
	var err error
	if st.literal != nil {
		req = st.literal.get()
		defer st.literal.put(req)
	} else {
		req = fasthttp.AcquireRequest()
		defer fasthttp.ReleaseRequest(req)
		u, err = renderFast(req, st, it, e.base)
	}
	var pu *url.URL
	if err == nil && jar != nil {
		if pu, err = url.Parse(u); err == nil {
			for _, c := range jar.Cookies(pu) {
				req.Header.SetCookie(c.Name, c.Value)
			}
		}
	}
	sendAt, origin := e.sendTime(origin, first)
	s.at = origin
	if err != nil {
		s.out, s.err = outTransport, err.Error()
		s.latency, s.method = sendAt-origin, st.req.Method
		e.samples <- s
		return false
	}
	e.sentBy[st.idx].Add(1)
	if e.opts.Results != nil {
		s.method, s.url = string(req.Header.Method()), u
	}
	s.bytesOut = uint64(len(req.Body()))
	req.SetTimeout(e.timeoutOf(st.req))
	var hc *fasthttp.HostClient
	if st.literal != nil {
		hc = st.literal.hc
	} else {
		hc = e.fast.host(req)
	}
	err = hc.Do(req, resp)
	end := time.Since(e.start)
	s.latency, s.service = end-origin, end-sendAt
	code := 0
	if err == nil {
		code = resp.StatusCode()
		s.code, s.bytesIn = uint16(code), uint64(len(resp.Body()))
	}
	if (st.req.Write != "" || st.req.Read != "") && e.opts.Writes != nil {
		e.recordWriteOf(st.req, string(req.Header.Peek(scenarios.IdempotencyHeader)), string(req.Header.Peek("Authorization")),
			string(req.URI().Path()), sendAt, code)
	}
	if err != nil {
		if ctx.Err() != nil { // the run was stopped: not a measurement of the target
			e.cancelled.Add(1)
			return false
		}
		s.out = outTransport
		if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) || os.IsTimeout(err) {
			s.out = outTimeout
		}
		s.err = fmt.Sprintf("%s %q: %v", req.Header.Method(), u, err)
		e.samples <- s
		return false
	}
	if jar != nil {
		var cs []*http.Cookie
		for _, v := range resp.Header.Cookies() {
			if c, err := http.ParseSetCookie(string(v)); err == nil {
				cs = append(cs, c)
			}
		}
		if len(cs) > 0 {
			jar.SetCookies(pu, cs)
		}
	}
	exp := st.req.Expect
	if !statusExpected(exp, code) {
		s.out = outStatus
		s.err = strconv.Itoa(code) + " " + http.StatusText(code)
	}
	var header http.Header
	if st.needHeader {
		header = http.Header{}
		for k, v := range resp.Header.All() {
			header.Add(string(k), string(v))
		}
	}
	ok := e.judge(&s, st, it, code, header, resp.Body())
	e.samples <- s
	return ok
}
