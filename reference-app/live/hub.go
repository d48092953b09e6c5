package live

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// ErrFull is returned by Issue when a live session already holds as many
// connected clients and outstanding tickets as its capacity allows.
var ErrFull = errors.New("live session is full")

// ErrClosed is returned by Issue after Shutdown.
var ErrClosed = errors.New("live hub is shut down")

// ErrTooManyConnections is returned by Issue when the user already holds
// Options.MaxConnsPerUser connections on this hub.
var ErrTooManyConnections = errors.New("too many live connections for this user")

// Close codes the hub sends. Clients see them in the close frame.
const (
	// CloseGoingAway (1001) is sent to every client by Shutdown.
	CloseGoingAway = websocket.CloseGoingAway
	// CloseSlowClient (1008, policy violation) is sent to a client whose send
	// queue overflowed because it did not read fast enough.
	CloseSlowClient = websocket.ClosePolicyViolation
	// CloseFlooder (1008, policy violation, reason "message rate exceeded")
	// is sent to a client that kept sending over Options.MessageRate.
	CloseFlooder = websocket.ClosePolicyViolation
)

// Options configure a Hub. Zero fields take the documented defaults.
type Options struct {
	// Secret signs tickets with HMAC-SHA256. Replicas that share it accept
	// each other's tickets. Empty means a random secret: tickets are then
	// valid only on this hub.
	Secret []byte
	// TicketTTL is how long an issued ticket stays valid; default 60 s.
	TicketTTL time.Duration
	// SendQueue is the number of messages that may wait for one client; a
	// client whose queue overflows is disconnected with CloseSlowClient.
	// Default 64.
	SendQueue int
	// WriteTimeout bounds every write to a client, including the close
	// frame, and the wait for the client's close reply; default 5 s.
	WriteTimeout time.Duration
	// PingInterval is the time between pings to each client; a client that
	// sends nothing (not even a pong) for twice as long is dropped. Default 30 s.
	PingInterval time.Duration
	// MaxMessageBytes is the largest message a client may send; a larger one
	// closes the connection with 1009 (message too big). Default 4 KiB.
	MaxMessageBytes int64
	// MaxConnsPerUser is the most connections (open or being opened) one
	// user may hold on this hub, over all sessions; Issue and ServeWS refuse
	// more (ErrTooManyConnections, 429 too_many_connections). Default 5;
	// negative: no limit.
	MaxConnsPerUser int
	// MessageRate is the messages per second a connection may send, on
	// average (a token bucket of MessageBurst). Messages beyond it are
	// dropped, the first of a run answered with an error "rate_limited";
	// a client that sends MessageBurst more messages than its budget allows
	// is closed with 1008 (CloseFlooder). Default 5; negative: no limit.
	MessageRate float64
	// MessageBurst is the size of the token bucket of MessageRate; default 20.
	MessageBurst int
	// Now is the clock of tickets: their expiry, the check of it and the
	// forgetting of expired ones (default time.Now). Network deadlines and
	// pings use the real clock.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.TicketTTL <= 0 {
		o.TicketTTL = 60 * time.Second
	}
	if o.SendQueue <= 0 {
		o.SendQueue = 64
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 4 << 10
	}
	if o.MaxConnsPerUser == 0 {
		o.MaxConnsPerUser = 5
	}
	if o.MessageRate == 0 {
		o.MessageRate = 5
	}
	if o.MessageBurst <= 0 {
		o.MessageBurst = 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.Secret) == 0 {
		o.Secret = make([]byte, 32)
		rand.Read(o.Secret)
	} else {
		o.Secret = append([]byte(nil), o.Secret...)
	}
	return o
}

// Message is one event on a live session's WebSocket, as JSON. The hub sends
// "presence" (Event "join" or "leave", Members = clients now in the room),
// "chat" (User, Text and the sender's SentAt echoed), "pong" (SentAt echoed)
// and "error" (Code, Text) messages; Publish sends any Type, for example
// "progress" with Data {"lesson": ..., "percent": ...}.
type Message struct {
	Type    string `json:"type"`
	User    string `json:"user,omitempty"`
	Text    string `json:"text,omitempty"`
	SentAt  string `json:"sent_at,omitempty"`
	Event   string `json:"event,omitempty"`
	Members int    `json:"members,omitempty"`
	Code    string `json:"code,omitempty"`
	Data    any    `json:"data,omitempty"`
}

// Hub holds the live sessions (rooms) of one academy replica and their
// WebSocket clients. All methods are safe for concurrent use. Each connected
// client costs one goroutine (its reader) while idle; a writer goroutine runs
// only while the client has messages waiting. Shutdown ends them all.
type Hub struct {
	opts     Options
	upgrader websocket.Upgrader
	m        metrics

	mu      sync.RWMutex
	rooms   map[string]*room
	used    map[string]time.Time // redeemed or replaced ticket nonces until their expiry
	conns   map[string]int       // user → connections open or being opened, over all rooms
	sweepAt time.Time
	closing bool

	// wg counts reader and writer goroutines. Add is only called under mu
	// while !closing (readers) or while the client's reader is running
	// (writers), so it never races with Wait in Shutdown.
	wg sync.WaitGroup
}

// room is one live session. A user takes one seat however many tickets it
// asks for and connections it opens: seats are the users present (connected
// or connecting) plus the users holding an unredeemed ticket.
type room struct {
	clients map[*client]struct{}
	pending map[string]hold // user → its one issued, unredeemed ticket
	present map[string]int  // user → its connections in the room, open or being opened
	joining int             // tickets redeemed whose upgrade is under way
}

// hold is an issued ticket that still holds its user's seat.
type hold struct {
	nonce   string
	expires time.Time
}

// seats returns the seats taken.
func (rm *room) seats() int {
	n := len(rm.present)
	for u := range rm.pending {
		if rm.present[u] == 0 {
			n++
		}
	}
	return n
}

type metrics struct {
	conns    prometheus.Gauge
	in, out  prometheus.Counter
	slow     prometheus.Counter
	rejected *prometheus.CounterVec
	limited  *prometheus.CounterVec
}

// NewHub returns a Hub. Its metrics are registered on reg (nil: not
// registered): academy_ws_connections, academy_ws_messages_total{direction},
// academy_ws_slow_client_disconnects_total and
// academy_ws_rejected_total{reason}.
func NewHub(opts Options, reg prometheus.Registerer) *Hub {
	opts = opts.withDefaults()
	f := promauto.With(reg)
	msgs := f.NewCounterVec(prometheus.CounterOpts{
		Name: "academy_ws_messages_total",
		Help: "WebSocket messages received from (in) and written to (out) live-session clients.",
	}, []string{"direction"})
	h := &Hub{
		opts:  opts,
		rooms: map[string]*room{},
		used:  map[string]time.Time{},
		conns: map[string]int{},
		m: metrics{
			conns: f.NewGauge(prometheus.GaugeOpts{
				Name: "academy_ws_connections",
				Help: "Open live-session WebSocket connections.",
			}),
			in:  msgs.WithLabelValues("in"),
			out: msgs.WithLabelValues("out"),
			slow: f.NewCounter(prometheus.CounterOpts{
				Name: "academy_ws_slow_client_disconnects_total",
				Help: "Live-session clients disconnected because their send queue overflowed.",
			}),
			rejected: f.NewCounterVec(prometheus.CounterOpts{
				Name: "academy_ws_rejected_total",
				Help: "Live-session WebSocket handshakes refused, by reason (the error code).",
			}, []string{"reason"}),
			limited: f.NewCounterVec(prometheus.CounterOpts{
				Name: "academy_ws_rate_limited_total",
				Help: "Live-session client messages over the per-connection rate: dropped, or clients closed for flooding.",
			}, []string{"action"}),
		},
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: opts.WriteTimeout,
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
		// Writes go through prepared messages and control frames, which need
		// no write buffer; the pool serves anything else and keeps idle
		// connections buffer-free.
		WriteBufferPool: &sync.Pool{},
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			writeError(w, status, "websocket_handshake_failed", reason.Error())
		},
	}
	return h
}

// Issue returns a single-use ticket that lets userID join sessionID until
// expires. capacity is the most users the session may hold: users connected
// and users holding an unexpired, unused ticket, one seat per user however
// many tickets or connections it has; Issue returns ErrFull when a new user
// would exceed it. A user holds one ticket per session: a new one replaces
// (revokes) the previous one. A user with Options.MaxConnsPerUser
// connections gets ErrTooManyConnections. capacity <= 0 means no limit.
// Counts are per hub (per replica).
func (h *Hub) Issue(sessionID, userID string, capacity int) (ticket string, expires time.Time, err error) {
	if sessionID == "" {
		return "", time.Time{}, errors.New("issue ticket: empty session id")
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	now := h.opts.Now()
	c := claims{
		Session: sessionID,
		User:    userID,
		Expires: now.Add(h.opts.TicketTTL).UnixMilli(),
		Nonce:   base64.RawURLEncoding.EncodeToString(nonce[:]),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return "", time.Time{}, ErrClosed
	}
	h.sweepLocked(now)
	rm := h.roomLocked(sessionID)
	rm.expireLocked(now)
	if h.opts.MaxConnsPerUser > 0 && h.conns[userID] >= h.opts.MaxConnsPerUser {
		h.dropIfEmptyLocked(sessionID, rm)
		return "", time.Time{}, ErrTooManyConnections
	}
	old, held := rm.pending[userID]
	if capacity > 0 && !held && rm.present[userID] == 0 && rm.seats() >= capacity {
		h.dropIfEmptyLocked(sessionID, rm)
		return "", time.Time{}, ErrFull
	}
	ticket, err = sign(h.opts.Secret, c)
	if err != nil {
		h.dropIfEmptyLocked(sessionID, rm)
		return "", time.Time{}, fmt.Errorf("issue ticket: %w", err)
	}
	if held { // the new ticket replaces the old one, which can no longer be redeemed here
		h.used[old.nonce] = old.expires
	}
	rm.pending[userID] = hold{nonce: c.Nonce, expires: expiry(c)}
	return ticket, expiry(c), nil
}

// Publish sends msg to every client of the session, for example a progress
// push. It never blocks on a client: a client whose queue is full is
// disconnected instead.
func (h *Hub) Publish(sessionID string, msg Message) {
	// A msg whose Data JSON cannot encode prepares to nil: nothing is sent.
	h.broadcast(sessionID, prepare(msg), false)
}

// Members returns the number of clients connected to the session on this hub.
func (h *Hub) Members(sessionID string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if rm, ok := h.rooms[sessionID]; ok {
		return len(rm.clients)
	}
	return 0
}

func (h *Hub) broadcast(sessionID string, pm *websocket.PreparedMessage, presence bool) {
	if pm == nil {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	rm, ok := h.rooms[sessionID]
	if !ok {
		return
	}
	for c := range rm.clients {
		c.enqueue(pm, presence)
	}
}

func (h *Hub) roomLocked(sessionID string) *room {
	rm, ok := h.rooms[sessionID]
	if !ok {
		rm = &room{clients: map[*client]struct{}{}, pending: map[string]hold{}, present: map[string]int{}}
		h.rooms[sessionID] = rm
	}
	return rm
}

func (h *Hub) dropIfEmptyLocked(sessionID string, rm *room) {
	if len(rm.clients) == 0 && len(rm.pending) == 0 && len(rm.present) == 0 && rm.joining == 0 {
		delete(h.rooms, sessionID)
	}
}

// expireLocked forgets the room's expired unredeemed tickets.
func (rm *room) expireLocked(now time.Time) {
	for u, p := range rm.pending {
		if !now.Before(p.expires) {
			delete(rm.pending, u)
		}
	}
}

// enterLocked counts a connection of user, open or being opened, in rm.
func (h *Hub) enterLocked(rm *room, user string) {
	rm.present[user]++
	h.conns[user]++
}

// leaveLocked uncounts a connection of user in rm.
func (h *Hub) leaveLocked(rm *room, user string) {
	if n := rm.present[user] - 1; n > 0 {
		rm.present[user] = n
	} else {
		delete(rm.present, user)
	}
	if n := h.conns[user] - 1; n > 0 {
		h.conns[user] = n
	} else {
		delete(h.conns, user)
	}
}

// sweepLocked forgets expired redeemed nonces and expired pending tickets,
// at most once per TicketTTL, so that memory follows the ticket rate.
func (h *Hub) sweepLocked(now time.Time) {
	if now.Before(h.sweepAt) {
		return
	}
	h.sweepAt = now.Add(h.opts.TicketTTL)
	for n, exp := range h.used {
		if !now.Before(exp) {
			delete(h.used, n)
		}
	}
	for id, rm := range h.rooms {
		rm.expireLocked(now)
		h.dropIfEmptyLocked(id, rm)
	}
}

// Shutdown stops accepting connections and tickets, closes every connection
// with 1001 (going away) and waits until every goroutine of the hub has
// ended. If ctx ends first, it closes the remaining connections without a
// close handshake, waits for the goroutines and returns ctx's error.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	var all []*client
	for _, rm := range h.rooms {
		for c := range rm.clients {
			all = append(all, c)
		}
	}
	h.mu.Unlock()
	for _, c := range all {
		c.close(CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { // ends when every reader and writer has ended
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range all {
			c.ws.Close()
		}
		<-done
		return fmt.Errorf("shut down live hub: %w", ctx.Err())
	}
}
