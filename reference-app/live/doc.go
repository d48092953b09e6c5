// Package live is the WebSocket hub of the academy's live classes: chat,
// presence and progress pushes for everyone in a live session (a room), on
// gorilla/websocket.
//
// Joining takes two steps. The academy's join endpoint authenticates the
// user and calls Hub.Issue, which returns a short-lived, single-use ticket
// signed with HMAC-SHA256 over (session, user, expiry, nonce); the client
// then opens the WebSocket with it:
//
//	POST /v1/live-sessions/{id}/join       → 200 {"ticket","ws_url","expires_at"}, or 409 when Issue returns ErrFull
//	GET  /v1/live-sessions/{id}/ws?ticket=… → Hub.ServeWS: 101 Switching Protocols
//
// ServeWS refuses with a JSON error: 401 ticket_required, invalid_ticket or
// ticket_expired; 403 ticket_wrong_session or ticket_used (also a ticket
// replaced by a newer one); 429 too_many_connections (the ticket stays
// unused); 400 websocket_required (no WebSocket handshake; the ticket stays
// unused); 503 shutting_down.
//
// Abuse limits. A user takes one seat of a session however often it joins:
// it holds at most one unredeemed ticket per session (a new one revokes the
// previous), and its connections to the session share its seat. A user holds
// at most Options.MaxConnsPerUser connections on a hub (default 5): Issue
// returns ErrTooManyConnections (the join answers 429) and ServeWS refuses
// the handshake with 429 too_many_connections. Each connection may send
// Options.MessageRate messages a second (default 5, a token bucket of
// Options.MessageBurst, default 20); messages beyond are dropped, the first
// of a run answered {"type":"error","code":"rate_limited"}, and a client
// that sends MessageBurst messages over its budget is closed with 1008
// (CloseFlooder, reason "message rate exceeded"), so a flooder loses its own
// connection instead of filling its classmates' queues. Replicas that share Options.Secret accept each other's
// tickets; single use and capacity are enforced per replica (a ticket
// redeemed on one replica could be redeemed once more on another).
//
// On the socket every message is a JSON object (Message). The client sends
//
//	{"type":"chat","text":"…","sent_at":"2025-01-02T15:04:05.123456789Z"}
//	{"type":"ping","sent_at":"…"}
//
// and receives
//
//	{"type":"presence","event":"join"|"leave","user":"…","members":N}
//	{"type":"chat","user":"…","text":"…","sent_at":"…"}   sent_at echoed: delivery latency = receive time − sent_at
//	{"type":"pong","sent_at":"…"}                           to the sender only
//	{"type":"progress","user":"…","data":{…}}              from Hub.Publish
//	{"type":"error","code":"bad_message|bad_sent_at|bad_chat|unknown_type|rate_limited","text":"…"}
//
// The hub names the chat sender from the ticket; a client cannot speak for
// another user. A message over MaxMessageBytes closes the connection with
// 1009.
//
// Flow control: each client has a bounded send queue (Options.SendQueue).
// Broadcasting only appends to queues and never waits for a client; a client
// whose queue is full is disconnected with 1008 (CloseSlowClient, reason
// "send queue full: client reads too slowly"), so one slow reader cannot
// stall the room. A client that does not absorb a single write within
// WriteTimeout is dropped too, without a close frame (none could get
// through). Both count in academy_ws_slow_client_disconnects_total. Presence events are coalesced per client: while one waits in
// a client's queue, a newer one replaces it (members is always current), so
// a burst of joins costs a lagging client one queue slot, not one per join.
// Every write has a deadline (WriteTimeout). The server pings every
// PingInterval and drops a client silent for twice as long. Shutdown closes
// every connection with 1001 and waits for every goroutine of the hub.
//
// Cost per connection: an idle client holds one goroutine (its reader), a
// 1 KiB read buffer, no write buffer (writes use prepared messages) and no
// queue; a writer goroutine exists only while messages wait. A broadcast is
// encoded once for all recipients (websocket.PreparedMessage).
//
// Metrics, on the registerer given to NewHub: academy_ws_connections,
// academy_ws_messages_total{direction="in|out"},
// academy_ws_slow_client_disconnects_total,
// academy_ws_rate_limited_total{action="dropped|closed"} and
// academy_ws_rejected_total{reason} (the error codes above).
package live
