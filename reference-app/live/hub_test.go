package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/live"
)

// patience bounds every wait of these tests for something that should come
// soon: a reply, a join, a close. It is generous so that a loaded machine
// slows the tests down instead of failing them; a passing test never spends it.
const patience = 30 * time.Second

// lab is a hub mounted on the academy's route, on a real loopback server.
type lab struct {
	hub *live.Hub
	reg *prometheus.Registry
	srv *httptest.Server
}

// smallBuffers shrinks the kernel send buffer of every accepted connection,
// so that a client that stops reading fills it after a few kilobytes rather
// than megabytes.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

func newLab(t *testing.T, opts live.Options, small bool) *lab {
	t.Helper()
	reg := prometheus.NewRegistry()
	hub := live.NewHub(opts, reg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/live-sessions/{id}/ws", func(w http.ResponseWriter, r *http.Request) {
		hub.ServeWS(w, r, r.PathValue("id"))
	})
	srv := httptest.NewUnstartedServer(mux)
	if small {
		srv.Listener = smallBuffers{srv.Listener}
	}
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
	})
	return &lab{hub: hub, reg: reg, srv: srv}
}

func (l *lab) url(session, ticket string) string {
	return "ws" + strings.TrimPrefix(l.srv.URL, "http") + "/v1/live-sessions/" + session + "/ws?ticket=" + ticket
}

// dial connects with a ticket; d may be nil.
func (l *lab) dial(t *testing.T, d *websocket.Dialer, session, ticket string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: patience}
	}
	c, resp, err := d.Dial(l.url(session, ticket), nil)
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

// join issues a ticket and connects with it.
func (l *lab) join(t *testing.T, d *websocket.Dialer, session, user string) *websocket.Conn {
	t.Helper()
	ticket, _, err := l.hub.Issue(session, user, 0)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	c, _, err := l.dial(t, d, session, ticket)
	if err != nil {
		t.Fatalf("dial %s: %v", user, err)
	}
	return c
}

func readMsg(t *testing.T, c *websocket.Conn) (live.Message, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(patience))
	var m live.Message
	err := c.ReadJSON(&m)
	return m, err
}

// next reads until a message of type typ arrives.
func next(t *testing.T, c *websocket.Conn, typ string) live.Message {
	t.Helper()
	for {
		m, err := readMsg(t, c)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if m.Type == typ {
			return m
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// clock is a manual clock for Options.Now: it stands still until the test
// advances it, so that ticket expiry is tested without waiting.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	if resp == nil {
		t.Fatal("no HTTP response")
	}
	body, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("status %d, body %q is no JSON error: %v", resp.StatusCode, body, err)
	}
	return e.Error.Code
}

func TestTicketRejected(t *testing.T) {
	secret := []byte("test-secret")
	clk := newClock()
	l := newLab(t, live.Options{Secret: secret, TicketTTL: time.Second, Now: clk.Now}, false)
	good, expires, err := l.hub.Issue("s1", "alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(time.Second); !expires.Equal(want) {
		t.Errorf("expires at %v, want %v (issued at %v, TTL 1 s)", expires, want, clk.Now())
	}
	other, _, _ := live.NewHub(live.Options{Secret: []byte("other-secret")}, nil).Issue("s1", "mallory", 0)
	body, sig, _ := strings.Cut(good, ".")
	forged := body[:len(body)-2] + "xx." + sig
	forHub2, _, _ := l.hub.Issue("s2", "bob", 0)

	for _, tc := range []struct {
		name, ticket string
		status       int
		code         string
	}{
		{"missing", "", 401, "ticket_required"},
		{"garbage", "not-a-ticket", 401, "invalid_ticket"},
		{"other secret", other, 401, "invalid_ticket"},
		{"tampered", forged, 401, "invalid_ticket"},
		{"other session", forHub2, 403, "ticket_wrong_session"},
		{"huge", strings.Repeat("a", 10000) + "." + sig, 401, "invalid_ticket"},
	} {
		c, resp, err := l.dial(t, nil, "s1", tc.ticket)
		if err == nil {
			c.Close()
			t.Errorf("%s: connected, want %d %s", tc.name, tc.status, tc.code)
			continue
		}
		if resp == nil || resp.StatusCode != tc.status {
			t.Errorf("%s: response %v, want status %d", tc.name, resp, tc.status)
			continue
		}
		if got := errorCode(t, resp); got != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, got, tc.code)
		}
	}

	// A plain GET is refused without spending the ticket.
	resp, err := http.Get(l.srv.URL + "/v1/live-sessions/s1/ws?ticket=" + good)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || errorCode(t, resp) != "websocket_required" {
		t.Errorf("plain GET: status %d, want 400 websocket_required", resp.StatusCode)
	}
	resp.Body.Close()

	// Single use.
	if _, _, err := l.dial(t, nil, "s1", good); err != nil {
		t.Fatalf("first use: %v", err)
	}
	_, resp, err = l.dial(t, nil, "s1", good)
	if err == nil || resp.StatusCode != 403 || errorCode(t, resp) != "ticket_used" {
		t.Errorf("second use: err %v, response %v, want 403 ticket_used", err, resp)
	}

	// A replica sharing the secret accepts the ticket (once).
	l2 := newLab(t, live.Options{Secret: secret, Now: clk.Now}, false)
	shared, _, _ := l.hub.Issue("s1", "carol", 0)
	if _, _, err := l2.dial(t, nil, "s1", shared); err != nil {
		t.Errorf("ticket on a replica with the same secret: %v", err)
	}
}

func TestTicketExpiry(t *testing.T) {
	const ttl = time.Minute
	clk := newClock()
	l := newLab(t, live.Options{TicketTTL: ttl, Now: clk.Now}, false)
	last, _, err := l.hub.Issue("s1", "dave", 0)
	if err != nil {
		t.Fatal(err)
	}
	stale, expires, err := l.hub.Issue("s1", "erin", 0)
	if err != nil {
		t.Fatal(err)
	}

	clk.Advance(ttl - time.Millisecond)
	if _, _, err := l.dial(t, nil, "s1", last); err != nil {
		t.Errorf("ticket in its last millisecond: %v", err)
	}

	clk.Advance(time.Millisecond) // now == expires
	if !clk.Now().Equal(expires) {
		t.Fatalf("clock at %v, ticket expires at %v", clk.Now(), expires)
	}
	_, resp, err := l.dial(t, nil, "s1", stale)
	if err == nil || resp == nil || resp.StatusCode != 401 || errorCode(t, resp) != "ticket_expired" {
		t.Errorf("ticket at its expiry: err %v, response %v, want 401 ticket_expired", err, resp)
	}
	if got := testutil.Sum(t, l.reg, "academy_ws_rejected_total", prometheus.Labels{"reason": "ticket_expired"}); got != 1 {
		t.Errorf("rejected{reason=ticket_expired} = %v, want 1", got)
	}
}

func TestCapacity(t *testing.T) {
	const ttl = time.Minute
	clk := newClock()
	l := newLab(t, live.Options{TicketTTL: ttl, Now: clk.Now}, false)
	t1, _, err := l.hub.Issue("room", "u1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.hub.Issue("room", "u2", 2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.hub.Issue("room", "u3", 2); !errors.Is(err, live.ErrFull) {
		t.Fatalf("third ticket for capacity 2: %v, want ErrFull", err)
	}
	if _, _, err := l.hub.Issue("other-room", "u3", 2); err != nil {
		t.Fatalf("capacity is per session: %v", err)
	}
	c, _, err := l.dial(t, nil, "room", t1)
	if err != nil {
		t.Fatal(err)
	}
	next(t, c, "presence")
	if _, _, err := l.hub.Issue("room", "u3", 2); !errors.Is(err, live.ErrFull) {
		t.Fatalf("one connected, one outstanding ticket, capacity 2: %v, want ErrFull", err)
	}
	clk.Advance(ttl - time.Millisecond)
	if _, _, err := l.hub.Issue("room", "u3", 2); !errors.Is(err, live.ErrFull) {
		t.Fatalf("u2's ticket in its last millisecond: %v, want ErrFull", err)
	}
	clk.Advance(time.Millisecond) // u2's ticket expires unused
	if _, _, err := l.hub.Issue("room", "u3", 2); err != nil {
		t.Fatalf("after the unused ticket expired: %v", err)
	}
	if _, _, err := l.hub.Issue("room", "u4", 2); !errors.Is(err, live.ErrFull) {
		t.Fatalf("full again: %v, want ErrFull", err)
	}
	c.Close() // the connected client leaves
	waitFor(t, "the client to leave", func() bool { return l.hub.Members("room") == 0 })
	if _, _, err := l.hub.Issue("room", "u4", 2); err != nil {
		t.Fatalf("after the client left: %v", err)
	}
}

func TestChatFanOutWithSlowClient(t *testing.T) {
	const (
		fast     = 50
		messages = 200
	)
	// A write timeout longer than any run of this test: the slow client is
	// to be caught by its queue overflowing, never by a write timing out,
	// however loaded the machine (its first write blocks from the start).
	// The sender chats as fast as its echoes come back: no message rate limit.
	l := newLab(t, live.Options{WriteTimeout: 10 * time.Minute, MessageRate: -1}, true)

	// The slow client's socket takes little before it pushes back, and it
	// never reads until the end.
	slowDialer := &websocket.Dialer{HandshakeTimeout: patience, NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(4 << 10)
		}
		return c, err
	}}
	slow := l.join(t, slowDialer, "class", "slowpoke")

	type result struct {
		user  string
		chats []live.Message
		left  []string
		err   error
	}
	results := make(chan result, fast)
	conns := make([]*websocket.Conn, fast)
	for i := range conns {
		conns[i] = l.join(t, nil, "class", fmt.Sprintf("user-%d", i))
	}
	waitFor(t, "every client to join", func() bool { return l.hub.Members("class") == fast+1 })
	echoes := make(chan struct{}, messages)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() { // ends after the last chat or on a read error
			defer wg.Done()
			r := result{user: fmt.Sprintf("user-%d", i)}
			for len(r.chats) < messages {
				m, err := readMsg(t, c)
				if err != nil {
					r.err = err
					break
				}
				switch m.Type {
				case "chat":
					r.chats = append(r.chats, m)
					if i == 0 {
						echoes <- struct{}{}
					}
				case "presence":
					if m.Event == "leave" {
						r.left = append(r.left, m.User)
					}
				}
			}
			results <- r
		}()
	}

	// The slow client wakes up once the hub has given up on it: it is slow,
	// not dead, so the close frame reaches it after the bytes in flight.
	type slowEnd struct {
		got  int
		code int
		text string
		err  error
	}
	slowResult := make(chan slowEnd, 1)
	go func() { // ends on the close frame or a read error
		var r slowEnd
		deadline := time.Now().Add(patience)
		for testutil.Sum(t, l.reg, "academy_ws_slow_client_disconnects_total", nil) == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		for {
			slow.SetReadDeadline(time.Now().Add(patience))
			_, _, err := slow.ReadMessage()
			if err == nil {
				r.got++
				continue
			}
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				r.code, r.text = ce.Code, ce.Text
			} else {
				r.err = fmt.Errorf("slow client: %v after %d messages, want a close frame", err, r.got)
			}
			slowResult <- r
			return
		}
	}()

	start := time.Now()
	text := strings.Repeat("x", 2000)
	sender := conns[0]
	for n := range messages {
		sent := time.Now().UTC().Format(time.RFC3339Nano)
		err := sender.WriteJSON(map[string]string{"type": "chat", "text": fmt.Sprintf("%d:%s", n, text), "sent_at": sent})
		if err != nil {
			t.Fatal(err)
		}
		if n%8 == 7 { // pace the sender by its own echoes, so fast readers keep up
			for range 8 {
				select {
				case <-echoes:
				case <-time.After(patience):
					t.Fatal("no echo of the sender's chat")
				}
			}
		}
	}
	wg.Wait()
	t.Logf("%d chats to %d clients in %v", messages, fast, time.Since(start))
	close(results)
	for r := range results {
		if r.err != nil {
			t.Errorf("%s: %v after %d chats", r.user, r.err, len(r.chats))
			continue
		}
		for n, m := range r.chats {
			if m.User != "user-0" || !strings.HasPrefix(m.Text, fmt.Sprintf("%d:", n)) || m.SentAt == "" {
				t.Errorf("%s: chat %d is %q from %q sent at %q", r.user, n, m.Text[:10], m.User, m.SentAt)
				break
			}
			if _, err := time.Parse(time.RFC3339Nano, m.SentAt); err != nil {
				t.Errorf("%s: sent_at %q not echoed as sent: %v", r.user, m.SentAt, err)
				break
			}
		}
	}
	if got := testutil.Sum(t, l.reg, "academy_ws_slow_client_disconnects_total", nil); got != 1 {
		t.Errorf("slow client disconnects %v, want 1", got)
	}

	// The slow client reads what got through, then the close frame.
	select {
	case r := <-slowResult:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.code != websocket.ClosePolicyViolation {
			t.Errorf("slow client closed with %d %q, want 1008", r.code, r.text)
		}
		t.Logf("slow client got %d messages, then close %d %q", r.got, r.code, r.text)
	case <-time.After(patience):
		t.Fatal("the slow client was not closed")
	}
	waitFor(t, "the slow client to leave", func() bool { return l.hub.Members("class") == fast })
}

func TestShutdownClosesEveryConnection(t *testing.T) {
	baseline := runtime.NumGoroutine()
	reg := prometheus.NewRegistry()
	hub := live.NewHub(live.Options{WriteTimeout: 500 * time.Millisecond}, reg)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hub.ServeWS(w, r, "s")
	}))
	l := &lab{hub: hub, reg: reg, srv: srv}
	const n = 20
	codes := make(chan int, n)
	for i := range n {
		c := l.join(t, nil, "s", fmt.Sprintf("u%d", i))
		go func() { // ends on the close frame or a read error
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					var ce *websocket.CloseError
					if errors.As(err, &ce) {
						codes <- ce.Code
					} else {
						codes <- -1
					}
					return
				}
			}
		}()
	}
	// One more that never reads: it cannot delay Shutdown past the timeouts.
	mute := l.join(t, nil, "s", "mute")
	waitFor(t, "every client to join", func() bool { return hub.Members("s") == n+1 })
	if got := testutil.Sum(t, reg, "academy_ws_connections", nil); got != n+1 {
		t.Errorf("academy_ws_connections = %v, want %d", got, n+1)
	}

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := hub.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for range n {
		if code := <-codes; code != websocket.CloseGoingAway {
			t.Errorf("client closed with %d, want 1001", code)
		}
	}
	if got := testutil.Sum(t, reg, "academy_ws_connections", nil); got != 0 {
		t.Errorf("academy_ws_connections = %v after shutdown, want 0", got)
	}
	if _, _, err := hub.Issue("s", "late", 0); !errors.Is(err, live.ErrClosed) {
		t.Errorf("issue after shutdown: %v, want ErrClosed", err)
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || errorCode(t, resp) != "shutting_down" {
		t.Errorf("request after shutdown: status %d, want 503 shutting_down", resp.StatusCode)
	}
	resp.Body.Close()
	mute.Close()
	srv.Close()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(patience)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after shutdown, %d before:\n%s", got, baseline, buf[:runtime.Stack(buf, true)])
	}
}

func TestProtocol(t *testing.T) {
	l := newLab(t, live.Options{MaxMessageBytes: 512}, false)
	a := l.join(t, nil, "s", "alice")
	if m := next(t, a, "presence"); m.Event != "join" || m.User != "alice" || m.Members != 1 {
		t.Errorf("own join: %+v", m)
	}
	b := l.join(t, nil, "s", "bob")
	if m := next(t, a, "presence"); m.Event != "join" || m.User != "bob" || m.Members != 2 {
		t.Errorf("bob's join seen by alice: %+v", m)
	}
	next(t, b, "presence")

	// Progress pushes reach every member.
	l.hub.Publish("s", live.Message{Type: "progress", User: "alice", Data: map[string]any{"lesson": "l1", "percent": 40}})
	for _, c := range []*websocket.Conn{a, b} {
		m := next(t, c, "progress")
		if d, ok := m.Data.(map[string]any); !ok || d["lesson"] != "l1" || d["percent"] != 40.0 {
			t.Errorf("progress: %+v", m)
		}
	}
	l.hub.Publish("nobody-here", live.Message{Type: "progress"}) // no room: nothing happens

	// Application-level ping echoes sent_at; bad input gets an error event.
	sent := time.Now().UTC().Format(time.RFC3339Nano)
	for _, tc := range []struct {
		send, want, code string
	}{
		{`{"type":"ping","sent_at":"` + sent + `"}`, "pong", ""},
		{`not json`, "error", "bad_message"},
		{`{"type":"dance"}`, "error", "unknown_type"},
		{`{"type":"chat","text":""}`, "error", "bad_chat"},
		{`{"type":"chat","text":"hi","sent_at":"yesterday"}`, "error", "bad_sent_at"},
	} {
		if err := a.WriteMessage(websocket.TextMessage, []byte(tc.send)); err != nil {
			t.Fatal(err)
		}
		m, err := readMsg(t, a)
		if err != nil || m.Type != tc.want || m.Code != tc.code {
			t.Errorf("%s: got %+v (%v), want %s %s", tc.send, m, err, tc.want, tc.code)
		}
		if tc.want == "pong" && m.SentAt != sent {
			t.Errorf("pong sent_at %q, want %q", m.SentAt, sent)
		}
	}

	// Chat: the hub names the sender, whatever the client claims.
	a.WriteMessage(websocket.TextMessage, []byte(`{"type":"chat","text":"hello","user":"root","sent_at":"`+sent+`"}`))
	if m := next(t, b, "chat"); m.User != "alice" || m.Text != "hello" || m.SentAt != sent {
		t.Errorf("chat seen by bob: %+v", m)
	}

	// Too big a message closes the connection with 1009; bob sees alice leave.
	a.WriteMessage(websocket.TextMessage, []byte(`{"type":"chat","text":"`+strings.Repeat("y", 600)+`"}`))
	var ce *websocket.CloseError
	for {
		if _, err := readMsg(t, a); err != nil {
			if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
				t.Errorf("oversized message: %v, want close 1009", err)
			}
			break
		}
	}
	if m := next(t, b, "presence"); m.Event != "leave" || m.User != "alice" || m.Members != 1 {
		t.Errorf("alice's leave seen by bob: %+v", m)
	}
	if in, out := testutil.Sum(t, l.reg, "academy_ws_messages_total", prometheus.Labels{"direction": "in"}), testutil.Sum(t, l.reg, "academy_ws_messages_total", prometheus.Labels{"direction": "out"}); in < 6 || out < 10 {
		t.Errorf("messages in %v, out %v: too few counted", in, out)
	}
}

func TestIdleClientsArePinged(t *testing.T) {
	// A client has PingInterval to answer each ping: a second, not a
	// scheduler hiccup, so that the pinged client is never dropped by a
	// loaded machine.
	const interval = time.Second
	l := newLab(t, live.Options{PingInterval: interval}, false)
	alive := l.join(t, nil, "s", "alive")
	pings := make(chan struct{}, 100)
	alive.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return alive.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(patience))
	})
	pongs := make(chan live.Message, 100)
	go func() { // ends when the connection closes at cleanup
		for {
			var m live.Message
			if err := alive.ReadJSON(&m); err != nil {
				return
			}
			if m.Type == "pong" {
				pongs <- m
			}
		}
	}()
	l.join(t, nil, "s", "silent") // never reads, so never answers a ping
	waitFor(t, "the silent client to be dropped", func() bool { return l.hub.Members("s") == 1 })
	// The silent client went after two intervals; the fourth ping comes
	// after four, so the pinged client outlived it by its pongs alone.
	waitFor(t, "four pings", func() bool { return len(pings) >= 4 })
	if got := l.hub.Members("s"); got != 1 {
		t.Errorf("%d members, want the pinged client still there", got)
	}
	if err := alive.WriteJSON(map[string]string{"type": "ping", "sent_at": "2025-01-02T15:04:05Z"}); err != nil {
		t.Fatalf("the pinged client was dropped: %v", err)
	}
	select {
	case <-pongs:
	case <-time.After(patience):
		t.Fatal("the pinged client was dropped: no pong")
	}
}
