package live

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/trendtactics/loadlab/reference-app/httperr"
)

// ServeWS upgrades r to a WebSocket connection for the live session
// sessionID, after checking the single-use ticket in the query parameter
// "ticket". Refusals are JSON errors: 401 ticket_required, invalid_ticket or
// ticket_expired; 403 ticket_wrong_session or ticket_used (also a ticket
// replaced by a newer one); 429 too_many_connections when the ticket's user
// holds Options.MaxConnsPerUser connections (the ticket stays unused); 400
// websocket_required when r is no WebSocket handshake; 503 shutting_down.
//
// ServeWS returns as soon as the connection is established: the connection
// lives on in the hub's own goroutines, so middleware that counts in-flight
// requests or times them sees a short request.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request, sessionID string) {
	reject := func(status int, code, msg string) {
		h.m.rejected.WithLabelValues(code).Inc()
		writeError(w, status, code, msg)
	}
	h.mu.RLock()
	closing := h.closing
	h.mu.RUnlock()
	if closing {
		reject(http.StatusServiceUnavailable, "shutting_down", "the server is shutting down; reconnect to another replica")
		return
	}
	raw := r.URL.Query().Get("ticket")
	if raw == "" {
		reject(http.StatusUnauthorized, "ticket_required", "query parameter ticket is required; get one from POST /v1/live-sessions/{id}/join")
		return
	}
	c, err := verify(h.opts.Secret, raw)
	if err != nil {
		reject(http.StatusUnauthorized, "invalid_ticket", err.Error())
		return
	}
	now := h.opts.Now()
	if !now.Before(expiry(c)) {
		reject(http.StatusUnauthorized, "ticket_expired", "ticket expired at "+expiry(c).UTC().Format(time.RFC3339Nano))
		return
	}
	if c.Session != sessionID {
		reject(http.StatusForbidden, "ticket_wrong_session", "ticket is for another live session")
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		reject(http.StatusBadRequest, "websocket_required", "this endpoint speaks WebSocket only")
		return
	}

	// Redeem the ticket and hold its seat while the handshake runs.
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		reject(http.StatusServiceUnavailable, "shutting_down", "the server is shutting down; reconnect to another replica")
		return
	}
	if _, used := h.used[c.Nonce]; used {
		h.mu.Unlock()
		reject(http.StatusForbidden, "ticket_used", "ticket was already used or replaced by a newer one; get a new one")
		return
	}
	if limit := h.opts.MaxConnsPerUser; limit > 0 && h.conns[c.User] >= limit {
		h.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		reject(http.StatusTooManyRequests, "too_many_connections", "this user holds too many live connections; close one first")
		return
	}
	h.sweepLocked(now)
	h.used[c.Nonce] = expiry(c)
	rm := h.roomLocked(sessionID)
	held, wasPending := rm.pending[c.User]
	wasPending = wasPending && held.nonce == c.Nonce
	if wasPending {
		delete(rm.pending, c.User)
	}
	rm.joining++
	h.enterLocked(rm, c.User)
	h.mu.Unlock()

	ws, err := h.upgrader.Upgrade(hijacker(w), r, nil)
	h.mu.Lock()
	rm.joining--
	if err != nil { // the upgrader has answered; give the ticket back
		h.leaveLocked(rm, c.User)
		delete(h.used, c.Nonce)
		if _, newer := rm.pending[c.User]; wasPending && !newer {
			rm.pending[c.User] = held
		}
		h.dropIfEmptyLocked(sessionID, rm)
		h.mu.Unlock()
		return
	}
	if h.closing {
		h.leaveLocked(rm, c.User)
		h.dropIfEmptyLocked(sessionID, rm)
		h.mu.Unlock()
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(CloseGoingAway, "server shutting down"), time.Now().Add(h.opts.WriteTimeout))
		ws.Close()
		return
	}
	cl := &client{hub: h, ws: ws, session: sessionID, user: c.User}
	rm.clients[cl] = struct{}{}
	members := len(rm.clients)
	h.wg.Add(1)
	h.mu.Unlock()
	h.m.conns.Inc()

	cl.start()
	go cl.readLoop() // ends when the connection fails or closes
	h.broadcast(sessionID, prepare(Message{Type: "presence", Event: "join", User: c.User, Members: members}), true)
}

// hijacker returns w, or the first writer under w (through Unwrap, as
// http.ResponseController does) that can be hijacked, so that middleware
// wrappers without a Hijack method do not break the upgrade.
func hijacker(w http.ResponseWriter) http.ResponseWriter {
	for {
		if _, ok := w.(http.Hijacker); ok {
			return w
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// client is one WebSocket connection. Its reader goroutine lives as long as
// the connection and is the only one to remove it from its room. Its writer
// goroutine runs only while messages wait in queue (or a ping, or the close
// frame); enqueue starts it.
type client struct {
	hub     *Hub
	ws      *websocket.Conn
	session string
	user    string

	mu      sync.Mutex
	queue   []outgoing
	pingDue bool
	writing bool // a writer goroutine runs; stays true after it sent the close frame
	closing bool // no more messages: the close frame is next
	code    int
	reason  string
	done    bool // the reader has ended and closed the connection
	ping    *time.Timer

	// The message budget (Options.MessageRate), used by the reader only.
	tokens float64 // below zero: the debt of messages sent over the budget
	last   time.Time
}

func (c *client) start() {
	o := c.hub.opts
	c.ws.SetReadLimit(o.MaxMessageBytes)
	c.ws.SetReadDeadline(time.Now().Add(2 * o.PingInterval))
	c.ws.SetPongHandler(func(string) error {
		c.touch()
		return nil
	})
	c.mu.Lock()
	c.ping = time.AfterFunc(o.PingInterval, c.pingTick)
	c.mu.Unlock()
}

// touch extends the read deadline after the client showed life, unless the
// connection is closing (then the deadline bounds the wait for its close reply).
func (c *client) touch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closing {
		c.ws.SetReadDeadline(time.Now().Add(2 * c.hub.opts.PingInterval))
	}
}

func (c *client) pingTick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.pingDue = true
	c.kickLocked()
	c.ping.Reset(c.hub.opts.PingInterval)
}

// outgoing is a queued message. A presence message is superseded by a later
// one: it carries the current member count, and a client that lags through
// a burst of joins gets the latest instead of all of them.
type outgoing struct {
	pm       *websocket.PreparedMessage
	presence bool
}

// enqueue queues pm for the client, or disconnects the client with
// CloseSlowClient when its queue is full. It never blocks on the network.
func (c *client) enqueue(pm *websocket.PreparedMessage, presence bool) {
	if pm == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	if presence {
		for i := range c.queue {
			if c.queue[i].presence {
				c.queue[i].pm = pm
				return
			}
		}
	}
	if len(c.queue) >= c.hub.opts.SendQueue {
		c.hub.m.slow.Inc()
		c.closeLocked(CloseSlowClient, "send queue full: client reads too slowly")
		return
	}
	c.queue = append(c.queue, outgoing{pm: pm, presence: presence})
	c.kickLocked()
}

// kickLocked starts the writer unless it runs. Callers hold c.mu and have
// checked that the reader still runs (!c.done), so wg is above zero.
func (c *client) kickLocked() {
	if c.writing || c.done {
		return
	}
	c.writing = true
	c.hub.wg.Add(1)
	go c.writeLoop() // ends when the queue is empty, on a write error, or after the close frame
}

// close asks for the connection to be closed with code and reason: queued
// messages are dropped and the writer sends the close frame after the message
// it may be writing now.
func (c *client) close(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(code, reason)
}

func (c *client) closeLocked(code int, reason string) {
	if c.closing {
		return
	}
	c.closing, c.code, c.reason = true, code, reason
	c.queue, c.pingDue = nil, false
	if c.ping != nil {
		c.ping.Stop()
	}
	c.kickLocked()
}

func (c *client) writeLoop() {
	defer c.hub.wg.Done()
	timeout := c.hub.opts.WriteTimeout
	for {
		c.mu.Lock()
		if c.closing {
			code, reason, done := c.code, c.reason, c.done
			c.mu.Unlock()
			if done {
				return
			}
			err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(timeout))
			if err != nil {
				c.ws.Close()
				return
			}
			// The reader ends on the client's close reply or at this deadline.
			c.ws.SetReadDeadline(time.Now().Add(timeout))
			return
		}
		ping := c.pingDue
		var pm *websocket.PreparedMessage
		if !ping && len(c.queue) > 0 {
			pm = c.queue[0].pm
			c.queue[0] = outgoing{}
			c.queue = c.queue[1:]
			if len(c.queue) == 0 {
				c.queue = nil // an idle client holds no queue memory
			}
		}
		if !ping && pm == nil {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.pingDue = false
		c.mu.Unlock()

		var err error
		if ping {
			err = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(timeout))
		} else {
			c.ws.SetWriteDeadline(time.Now().Add(timeout))
			err = c.ws.WritePreparedMessage(pm)
			if err == nil {
				c.hub.m.out.Inc()
			}
		}
		if err != nil {
			// The connection is broken, or the client stalled past the write
			// timeout (a slow client too): no close frame can get through.
			// Closing the socket ends the reader, which cleans up.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.hub.m.slow.Inc()
			}
			c.mu.Lock()
			c.closing, c.queue = true, nil
			c.mu.Unlock()
			c.ws.Close()
			return
		}
	}
}

// readLoop reads the client's messages until the connection ends, then
// removes the client from its room and tells the others.
func (c *client) readLoop() {
	h := c.hub
	defer h.wg.Done()
	flooded := false
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			break
		}
		h.m.in.Inc()
		c.touch()
		switch ok, flood := c.spend(time.Now()); {
		case flooded: // closed: what follows until the close reply is ignored
		case ok:
			c.handle(data)
		case flood:
			flooded = true
			h.m.limited.WithLabelValues("closed").Inc()
			c.close(CloseFlooder, "message rate exceeded")
		default:
			h.m.limited.WithLabelValues("dropped").Inc()
			if c.tokens >= -1 { // the first message dropped of a run
				c.reply(Message{Type: "error", Code: "rate_limited", Text: "too many messages; this one was dropped"})
			}
		}
	}

	c.mu.Lock()
	c.closing, c.done, c.queue = true, true, nil
	if c.ping != nil {
		c.ping.Stop()
	}
	c.mu.Unlock()
	c.ws.Close()

	h.mu.Lock()
	rm := h.rooms[c.session]
	members := 0
	if rm != nil {
		delete(rm.clients, c)
		h.leaveLocked(rm, c.user)
		members = len(rm.clients)
		h.dropIfEmptyLocked(c.session, rm)
	}
	closing := h.closing
	h.mu.Unlock()
	h.m.conns.Dec()
	if members > 0 && !closing {
		h.broadcast(c.session, prepare(Message{Type: "presence", Event: "leave", User: c.user, Members: members}), true)
	}
}

// spend takes one message from the client's budget at now. ok: handle the
// message; otherwise it is dropped, and flood says that the client has sent
// MessageBurst messages over its budget (its debt) and is to be closed.
// Dropped messages count against the budget, so that only a client that
// slows down gets through again.
func (c *client) spend(now time.Time) (ok, flood bool) {
	o := c.hub.opts
	if o.MessageRate < 0 {
		return true, false
	}
	burst := float64(o.MessageBurst)
	if c.last.IsZero() {
		c.tokens = burst
	} else {
		c.tokens = min(burst, c.tokens+now.Sub(c.last).Seconds()*o.MessageRate)
	}
	c.last = now
	c.tokens--
	if c.tokens >= 0 {
		return true, false
	}
	return false, c.tokens <= -burst
}

// inbound is what a client may send.
type inbound struct {
	Type   string `json:"type"`
	Text   string `json:"text"`
	SentAt string `json:"sent_at"`
}

func (c *client) handle(data []byte) {
	var in inbound
	if err := json.Unmarshal(data, &in); err != nil {
		c.reply(Message{Type: "error", Code: "bad_message", Text: "message is not a JSON object"})
		return
	}
	if in.SentAt != "" {
		if _, err := time.Parse(time.RFC3339Nano, in.SentAt); err != nil {
			c.reply(Message{Type: "error", Code: "bad_sent_at", Text: "sent_at must be an RFC 3339 time"})
			return
		}
	}
	switch in.Type {
	case "chat":
		if in.Text == "" || !utf8.ValidString(in.Text) {
			c.reply(Message{Type: "error", Code: "bad_chat", Text: "chat text must be non-empty UTF-8"})
			return
		}
		c.hub.broadcast(c.session, prepare(Message{Type: "chat", User: c.user, Text: in.Text, SentAt: in.SentAt}), false)
	case "ping":
		c.reply(Message{Type: "pong", SentAt: in.SentAt})
	default:
		c.reply(Message{Type: "error", Code: "unknown_type", Text: `type must be "chat" or "ping"`})
	}
}

func (c *client) reply(m Message) { c.enqueue(prepare(m), false) }

// prepare encodes m once for every client it goes to.
func prepare(m Message) *websocket.PreparedMessage {
	data, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, data)
	if err != nil {
		return nil
	}
	return pm
}

// writeError writes the academy's JSON error shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	httperr.Write(w, status, code, msg)
}
