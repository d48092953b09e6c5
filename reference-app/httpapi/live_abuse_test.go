package httpapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/httpapi"
)

// liveSessions returns the seeded live sessions.
func (e *env) liveSessions() []academy.LiveSession {
	e.t.Helper()
	var ls struct {
		LiveSessions []academy.LiveSession `json:"live_sessions"`
	}
	e.do("GET", "/v1/live-sessions", "", nil).json(e.t, &ls)
	if len(ls.LiveSessions) == 0 {
		e.t.Fatal("no live session")
	}
	return ls.LiveSessions
}

// joinLive asks for a ticket; it returns the response and the ticket.
func (e *env) joinLive(session, token string) (response, string) {
	e.t.Helper()
	r := e.do("POST", "/v1/live-sessions/"+session+"/join", token, nil)
	var j struct {
		Ticket string `json:"ticket"`
	}
	if r.status == http.StatusOK {
		r.json(e.t, &j)
	}
	return r, j.Ticket
}

// dialLive opens the class WebSocket with a ticket.
func (e *env) dialLive(session, ticket string) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/v1/live-sessions/" + session + "/ws?ticket=" + url.QueryEscape(ticket)
	c, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if c != nil {
		e.t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

// TestLiveOneSeatPerUser: a user who asks for ticket after ticket holds one
// seat (57 joins by one student used to fill a 52-seat class); a newer
// ticket replaces the older one.
func TestLiveOneSeatPerUser(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 1, Seed: 1}, opts: httpapi.Options{DisableRateLimit: true}})
	ls := e.liveSessions()[0]
	id := ls.ID.String()
	tok := e.token(student(1), academy.RoleStudent)
	var first, last string
	for i := range ls.Capacity + 5 {
		r, ticket := e.joinLive(id, tok)
		if r.status != http.StatusOK {
			t.Fatalf("join %d of one student into a %d-seat class: %d %s", i+1, ls.Capacity, r.status, r.body)
		}
		if i == 0 {
			first = ticket
		}
		last = ticket
	}
	if r, _ := e.joinLive(id, e.token(student(2), academy.RoleStudent)); r.status != http.StatusOK {
		t.Fatalf("another student after one student's %d joins: %d %s, want 200", ls.Capacity+5, r.status, r.body)
	}
	if _, resp, err := e.dialLive(id, first); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a replaced ticket: %v %v, want 403", err, resp)
	}
	if _, _, err := e.dialLive(id, last); err != nil {
		t.Fatalf("the newest ticket: %v", err)
	}
}

// TestLiveConnectionCapPerUser: one user cannot open hundreds of
// WebSockets; the sixth connection is refused with 429 JSON, at the join and
// at the handshake.
func TestLiveConnectionCapPerUser(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 2, Seed: 1}})
	sessions := e.liveSessions()
	a, b := sessions[0].ID.String(), sessions[1].ID.String()
	tok := e.token(student(1), academy.RoleStudent)
	var conns []*websocket.Conn
	open := func(session string) {
		t.Helper()
		r, ticket := e.joinLive(session, tok)
		if r.status != http.StatusOK {
			t.Fatalf("join %d: %d %s", len(conns)+1, r.status, r.body)
		}
		c, _, err := e.dialLive(session, ticket)
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	for range 4 {
		open(a)
	}
	r, spare := e.joinLive(b, tok) // a ticket for later, taken at four connections
	if r.status != http.StatusOK {
		t.Fatalf("join b: %d %s", r.status, r.body)
	}
	open(a) // the fifth
	r, _ = e.joinLive(a, tok)
	if r.status != http.StatusTooManyRequests || r.errorCode(t) != "too_many_connections" || r.header.Get("Retry-After") == "" {
		t.Fatalf("sixth join: %d %v %s, want 429 too_many_connections with Retry-After", r.status, r.header, r.body)
	}
	_, resp, err := e.dialLive(b, spare)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("sixth connection with a ticket taken earlier: %v %v, want 429", err, resp)
	}
	conns[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, _ = e.joinLive(a, tok)
		if r.status == http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r.status != http.StatusOK {
		t.Fatalf("join after closing a connection: %d %s", r.status, r.body)
	}
}

// TestChatFlooderIsClosedNotItsReaders: a client that floods the chat
// (20,000 frames as fast as it can) loses its connection; the classmates,
// who do not read meanwhile, keep theirs (they used to be cut as slow
// clients when the flood filled their queues).
func TestChatFlooderIsClosedNotItsReaders(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 4, Courses: 1, Seed: 1}})
	id := e.liveSessions()[0].ID.String()
	connect := func(i int) *websocket.Conn {
		t.Helper()
		r, ticket := e.joinLive(id, e.token(student(i), academy.RoleStudent))
		if r.status != http.StatusOK {
			t.Fatalf("join: %d %s", r.status, r.body)
		}
		c, _, err := e.dialLive(id, ticket)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	readers := []*websocket.Conn{connect(2), connect(3), connect(4)}
	flooder := connect(1)

	closed := make(chan error, 1)
	go func() { // ends when the flooder's connection ends
		for {
			if _, _, err := flooder.ReadMessage(); err != nil {
				closed <- err
				return
			}
		}
	}()
	frame := []byte(fmt.Sprintf(`{"type":"chat","text":%q}`, strings.Repeat("x", 2000)))
	sent := 0
	for range 20000 {
		if flooder.WriteMessage(websocket.TextMessage, frame) != nil {
			break
		}
		sent++
	}
	var err error
	select {
	case err = <-closed:
	case <-time.After(30 * time.Second):
		t.Fatalf("the flooder (%d frames sent) was not closed", sent)
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "message rate exceeded" {
		t.Fatalf("the flooder's connection ended with %v, want close 1008 \"message rate exceeded\"", err)
	}
	for i, c := range readers {
		chats := 0
		for {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			var m struct{ Type, Event, User string }
			if err := c.ReadJSON(&m); err != nil {
				t.Fatalf("reader %d after %d chats of the flood: %v", i, chats, err)
			}
			if m.Type == "chat" {
				chats++
			}
			if m.Type == "presence" && m.Event == "leave" {
				break // the flooder left; the reader is still here
			}
		}
		t.Logf("reader %d got %d chats of %d frames sent", i, chats, sent)
	}
	if got := testutil.Sum(t, e.reg, "academy_ws_slow_client_disconnects_total", nil); got != 0 {
		t.Errorf("slow client disconnects %v, want 0", got)
	}
	if got := testutil.Sum(t, e.reg, "academy_ws_rate_limited_total", map[string]string{"action": "closed"}); got != 1 {
		t.Errorf("flooders closed %v, want 1", got)
	}
}
