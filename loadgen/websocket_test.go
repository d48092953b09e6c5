package loadgen_test

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/loadgen"
)

// chatRoom is a WebSocket chat: every chat message goes to every connection, as the academy's
// live rooms do. With dropEvery > 0, every dropEvery-th connection is closed after dropAfter.
type chatRoom struct {
	dropEvery int64
	dropAfter time.Duration

	mu              sync.Mutex
	conns           map[*websocket.Conn]*sync.Mutex
	n, open, peak   atomic.Int64
	chats, received atomic.Int64
}

func (c *chatRoom) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("ticket") != "t" {
		http.Error(w, "no ticket", http.StatusUnauthorized)
		return
	}
	conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	wmu := &sync.Mutex{}
	c.mu.Lock()
	c.conns[conn] = wmu
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.conns, conn)
		c.mu.Unlock()
	}()
	o := c.open.Add(1)
	defer c.open.Add(-1)
	for p := c.peak.Load(); o > p && !c.peak.CompareAndSwap(p, o); p = c.peak.Load() {
	}
	if k := c.n.Add(1); c.dropEvery > 0 && k%c.dropEvery == 0 {
		time.AfterFunc(c.dropAfter, func() { conn.Close() })
	}
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var m struct{ Type, Text, SentAt string }
		if json.Unmarshal(data, &m) != nil || m.Type != "chat" {
			continue
		}
		c.received.Add(1)
		c.mu.Lock()
		for other, omu := range c.conns {
			omu.Lock()
			_ = other.WriteMessage(websocket.TextMessage, data)
			omu.Unlock()
			c.chats.Add(1)
		}
		c.mu.Unlock()
	}
}

func TestWebSocketDeliveryAndConcurrency(t *testing.T) {
	room := &chatRoom{conns: map[*websocket.Conn]*sync.Mutex{}}
	url := serve(t, room).URL
	spec := load(t, url, `workload:
  - {name: chat, request: {kind: websocket, url: "/ws?ticket=t", interval: 100ms, hold: 1s, message: "hi {{ seq }}"}}
  - {name: denied, weight: 1, request: {kind: websocket, url: "/ws?ticket=no", hold: 1s}}
load: {executor: constant-arrival-rate, rate: 20, duration: 1s}
`)
	reg := prometheus.NewRegistry()
	res := run(t, spec, loadgen.Options{Registry: reg})
	ws := res.WebSocket
	if ws == nil {
		t.Fatal("no WebSocket stats")
	}
	chat, denied := stats(t, res, "chat"), stats(t, res, "denied")
	if ws.Opened == 0 || ws.Opened+ws.ConnectFailures != 20 || ws.ConnectFailures != denied.Count || denied.Errors != denied.Count || denied.Statuses["401"] != denied.Count {
		t.Fatalf("opened %d, connect failures %d, denied %d (%d errors, %v); want 20 connections in all", ws.Opened, ws.ConnectFailures, denied.Count, denied.Errors, denied.Statuses)
	}
	if ws.Drops != 0 || ws.Lost != 0 || chat.Errors != 0 {
		t.Errorf("drops %d lost %d errors %d, want none", ws.Drops, ws.Lost, chat.Errors)
	}
	// A 100 ms ticker over a 1 s hold ticks at most 10 times; a starved process loses ticks (a
	// ticker keeps one), so the lower bound is loose: at load average 10 a run sent 7.5 a connection.
	if ws.Sent < ws.Opened*4 || ws.Sent > ws.Opened*10 || ws.Delivered != ws.Sent || chat.Count != ws.Delivered || uint64(room.received.Load()) != ws.Sent {
		t.Errorf("sent %d (server got %d), delivered %d, latency samples %d; want 4 to 10 per connection, all delivered", ws.Sent, room.received.Load(), ws.Delivered, chat.Count)
	}
	if room.chats.Load() <= int64(ws.Delivered) {
		t.Errorf("the room broadcast %d messages, want more than the %d own echoes (others' messages are not timed)", room.chats.Load(), ws.Delivered)
	}
	if ws.Peak < int64(ws.Opened)*3/4 || ws.Peak > room.peak.Load() || ws.Open != 0 {
		t.Errorf("peak %d of %d opened (server saw %d at once), open at the end %d", ws.Peak, ws.Opened, room.peak.Load(), ws.Open)
	}
	// A loopback figure: milliseconds on a quiet machine, below 10 s on any (a figure in the
	// wrong unit, or timed from the connection's opening, reads far more).
	if chat.Latency.Max <= 0 || chat.Latency.Max > 10_000 {
		t.Errorf("delivery latency max %.3fms, want a loopback figure", chat.Latency.Max)
	}
	if g := testutil.Value(t, reg, "loadgen_websocket_connections", nil); g != 0 {
		t.Errorf("loadgen_websocket_connections %v at the end, want 0", g)
	}
}

func TestWebSocketDropsCounted(t *testing.T) {
	room := &chatRoom{conns: map[*websocket.Conn]*sync.Mutex{}, dropEvery: 2, dropAfter: 300 * time.Millisecond}
	url := serve(t, room).URL
	spec := load(t, url, `workload:
  - {name: chat, request: {kind: websocket, url: "/ws?ticket=t", interval: 50ms, hold: 800ms}}
load: {executor: constant-arrival-rate, rate: 10, duration: 1s}
`)
	reg := prometheus.NewRegistry()
	res := run(t, spec, loadgen.Options{Registry: reg})
	ws, chat := res.WebSocket, stats(t, res, "chat")
	if ws.Opened != 10 || ws.Drops != 5 {
		t.Fatalf("opened %d dropped %d, want 10 and 5 (every second connection closed by the server)", ws.Opened, ws.Drops)
	}
	if chat.Errors != ws.Drops+ws.Lost || ws.Delivered+ws.Lost != ws.Sent {
		t.Errorf("errors %d, drops %d, lost %d, delivered %d, sent %d: want errors = drops + lost and every message delivered or lost",
			chat.Errors, ws.Drops, ws.Lost, ws.Delivered, ws.Sent)
	}
	// A drop is not a message: it must not sit among the delivery latencies.
	if n := chat.LatencyHist.TotalCount(); uint64(n) != ws.Delivered+ws.Lost {
		t.Errorf("latency samples %d, want delivered %d + lost %d (drops %d are not messages)", n, ws.Delivered, ws.Lost, ws.Drops)
	}
	if n := testutil.Value(t, reg, "loadgen_request_duration_seconds", nil); n != float64(ws.Delivered+ws.Lost) {
		t.Errorf("loadgen_request_duration_seconds has %v samples, want delivered + lost %d", n, ws.Delivered+ws.Lost)
	}
}
