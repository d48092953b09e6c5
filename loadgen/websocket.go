package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// Bounds of one WebSocket connection.
const (
	// maxPending bounds the chat messages of a connection awaiting their echo; a message
	// sent beyond it is not sent and counts as lost.
	maxPending = 1024
	// maxEchoWait bounds the wait for outstanding echoes after the hold.
	maxEchoWait = 5 * time.Second
	wsReadLimit = 1 << 20
)

// wsState counts the run's WebSocket connections; its methods are safe for concurrent use.
type wsState struct {
	open, peak                                                atomic.Int64
	opened, connectFailures, drops, sent, delivered, lostMsgs atomic.Uint64

	gauge   prometheus.Gauge   // loadgen_websocket_connections; nil without a registry
	dropped prometheus.Counter // loadgen_websocket_drops_total
}

func newWSState(reg prometheus.Registerer) (*wsState, error) {
	w := &wsState{}
	if reg == nil {
		return w, nil
	}
	var errs []error
	w.gauge = register(reg, &errs, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "loadgen_websocket_connections", Help: "WebSocket connections held open."}))
	w.dropped = register(reg, &errs, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "loadgen_websocket_drops_total", Help: "WebSocket connections closed by the server before their hold ended."}))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	return w, nil
}

func (w *wsState) stats() *result.WebSocketStats {
	return &result.WebSocketStats{
		Opened: w.opened.Load(), ConnectFailures: w.connectFailures.Load(),
		Open: w.open.Load(), Peak: w.peak.Load(), Drops: w.drops.Load(),
		Sent: w.sent.Load(), Delivered: w.delivered.Load(), Lost: w.lostMsgs.Load(),
	}
}

func (w *wsState) connected() {
	w.opened.Add(1)
	n := w.open.Add(1)
	for {
		p := w.peak.Load()
		if n <= p || w.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if w.gauge != nil {
		w.gauge.Inc()
	}
}

func (w *wsState) disconnected() {
	w.open.Add(-1)
	if w.gauge != nil {
		w.gauge.Dec()
	}
}

// chatMsg is the academy's chat message, as sent and as echoed to the room.
type chatMsg struct {
	Type   string `json:"type"`
	Text   string `json:"text,omitempty"`
	SentAt string `json:"sent_at,omitempty"`
}

// wsURL turns the rendered request URL into a ws:// or wss:// URL.
func wsURL(r *http.Request) string {
	u := *r.URL
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	case "http":
		u.Scheme = "ws"
	}
	return u.String()
}

// doWebSocket opens a WebSocket, sends a chat message every Interval stamped with sent_at,
// times each message until its echo comes back (a sample under the request's name), and
// closes the connection normally after Hold. A failed handshake is one error sample; a
// connection closed before its hold ended is a drop: one error without a latency (it is
// not a message, so it stays out of the delivery latencies; Result.WebSocket counts it),
// and its messages still awaiting an echo are lost: error samples whose latency is the
// time until they were given up. It returns false when the iteration must end.
func (e *engine) doWebSocket(k kindRun) bool {
	r := k.st.req
	opts := scenarios.WebSocketOptions{Hold: 10 * time.Second, Message: scenarios.MustTemplate(scenarios.DefaultChatText)}
	if r.WebSocket != nil {
		opts = *r.WebSocket
	}
	ws := e.ws
	e.sentBy[k.st.idx].Add(1)
	hdr := k.req.Header.Clone()
	for _, h := range []string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions", "Sec-Websocket-Protocol"} {
		hdr.Del(h)
	}
	timeout := e.timeoutOf(r)
	nd := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	d := websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: timeout,
		Jar: k.client.Jar, ReadBufferSize: 4096, WriteBufferSize: 4096, TLSClientConfig: e.tls}
	hctx, cancel := context.WithTimeout(k.ctx, timeout)
	conn, resp, err := d.DialContext(hctx, wsURL(k.req), hdr)
	cancel()
	if err != nil {
		if k.ctx.Err() != nil {
			e.cancelled.Add(1)
			return false
		}
		s := sample{name: k.st.idx, at: k.origin, out: outTransport, err: "connect: " + err.Error(), method: http.MethodGet}
		if resp != nil {
			resp.Body.Close()
			s.out, s.code, s.err = outStatus, uint16(resp.StatusCode), "connect: "+resp.Status
		} else if errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err) {
			s.out = outTimeout
		}
		end := time.Since(e.start)
		s.latency, s.service = end-k.origin, end-k.sendAt
		ws.connectFailures.Add(1)
		e.samples <- s
		return false
	}
	defer conn.Close()
	ws.connected()
	defer ws.disconnected()
	connectedAt := time.Since(e.start)
	conn.SetReadLimit(wsReadLimit)

	var (
		mu      sync.Mutex
		pending = map[string]time.Duration{} // sent_at → send offset, of messages awaiting their echo
	)
	readErr := make(chan error, 1)
	readDone := make(chan struct{})
	go func() { // ends when the connection fails or is closed (below, on every path)
		defer close(readDone)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			at := time.Since(e.start)
			var m chatMsg
			if json.Unmarshal(data, &m) != nil || m.Type != "chat" || m.SentAt == "" {
				continue
			}
			mu.Lock()
			sentAt, mine := pending[m.SentAt]
			delete(pending, m.SentAt)
			mu.Unlock()
			if mine {
				ws.delivered.Add(1)
				e.samples <- sample{name: k.st.idx, at: sentAt, code: http.StatusSwitchingProtocols,
					latency: at - sentAt, service: at - sentAt, bytesIn: uint64(len(data)), method: "WS"}
			}
		}
	}()
	// lose records every message still awaiting its echo as lost.
	lose := func(why string) {
		now := time.Since(e.start)
		mu.Lock()
		left := pending
		pending = map[string]time.Duration{}
		mu.Unlock()
		for _, at := range left {
			ws.lostMsgs.Add(1)
			e.samples <- sample{name: k.st.idx, at: at, out: outTimeout, err: why, latency: now - at, service: now - at, method: "WS"}
		}
	}
	// dropped records a connection the server (or the network) ended before its hold.
	dropped := func(err error) bool {
		if k.ctx.Err() != nil {
			e.cancelled.Add(1)
			return false
		}
		ws.drops.Add(1)
		if ws.dropped != nil {
			ws.dropped.Inc()
		}
		now := time.Since(e.start)
		lose("lost: connection dropped")
		e.samples <- sample{name: k.st.idx, at: connectedAt, out: outTransport, noLatency: true,
			err:     fmt.Sprintf("connection dropped after %s: %v", (now - connectedAt).Round(time.Millisecond), err),
			latency: now - connectedAt, service: now - connectedAt, method: "WS"}
		return false
	}

	hold := time.NewTimer(opts.Hold)
	defer hold.Stop()
	var tick <-chan time.Time
	if opts.Interval > 0 {
		t := time.NewTicker(opts.Interval)
		defer t.Stop()
		tick = t.C
	}
	var last string
	for {
		select {
		case <-k.ctx.Done():
			conn.Close()
			<-readDone
			e.cancelled.Add(1)
			return false
		case err := <-readErr:
			<-readDone
			return dropped(err)
		case <-tick:
			text := scenarios.DefaultChatText
			if opts.Message != nil {
				if t, err := opts.Message.Execute(k.it); err == nil && t != "" {
					text = t
				}
			}
			now := time.Now()
			at := time.Since(e.start)
			stamp := now.UTC().Format(time.RFC3339Nano)
			for stamp == last { // sent_at tells this connection's messages apart
				now = now.Add(time.Nanosecond)
				stamp = now.UTC().Format(time.RFC3339Nano)
			}
			last = stamp
			mu.Lock()
			full := len(pending) >= maxPending
			if !full {
				pending[stamp] = at
			}
			mu.Unlock()
			if full {
				ws.lostMsgs.Add(1)
				e.samples <- sample{name: k.st.idx, at: at, out: outTimeout, method: "WS",
					err: fmt.Sprintf("lost: %d messages await their echo", maxPending)}
				continue
			}
			data, _ := json.Marshal(chatMsg{Type: "chat", Text: text, SentAt: stamp})
			ws.sent.Add(1)
			_ = conn.SetWriteDeadline(time.Now().Add(timeout))
			if err := conn.WriteMessage(websocket.TextMessage, data); err != nil {
				conn.Close() // the reader ends and reports
				<-readDone
				return dropped(err)
			}
		case <-hold.C:
			// Wait for the outstanding echoes, then close normally.
			wait := time.NewTimer(min(timeout, maxEchoWait))
			poll := time.NewTicker(5 * time.Millisecond)
		waitEchoes:
			for {
				mu.Lock()
				n := len(pending)
				mu.Unlock()
				if n == 0 {
					break
				}
				select {
				case <-poll.C:
				case <-wait.C:
					break waitEchoes
				case <-k.ctx.Done():
					break waitEchoes
				case err := <-readErr:
					wait.Stop()
					poll.Stop()
					<-readDone
					return dropped(err)
				}
			}
			wait.Stop()
			poll.Stop()
			if k.ctx.Err() != nil {
				conn.Close()
				<-readDone
				e.cancelled.Add(1)
				return false
			}
			lose(fmt.Sprintf("lost: no echo within %s", min(timeout, maxEchoWait)))
			_ = conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, "hold ended"), time.Now().Add(time.Second))
			_ = conn.SetReadDeadline(time.Now().Add(time.Second))
			<-readDone // the server's close frame (or the deadline) ends the reader
			return true
		}
	}
}
