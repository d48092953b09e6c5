package live_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/trendtactics/loadlab/reference-app/live"
)

// FuzzServeWSTicket checks that no ticket, however mangled, makes the hub
// answer anything but 401 or 403 (400 for a valid one: the request is no
// WebSocket handshake).
func FuzzServeWSTicket(f *testing.F) {
	hub := live.NewHub(live.Options{Secret: []byte("fuzz")}, nil)
	good, _, _ := hub.Issue("s", "u", 0)
	for _, seed := range []string{"", ".", "a.b", good, good + "x", "x" + good, good[:len(good)/2], "e30.", "%%%."} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ticket string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/live-sessions/s/ws?ticket="+url.QueryEscape(ticket), nil)
		w := httptest.NewRecorder()
		hub.ServeWS(w, r, "s")
		switch w.Code {
		case http.StatusUnauthorized, http.StatusForbidden:
		case http.StatusBadRequest: // a valid ticket (the seeds hold some) on a request that is no WebSocket handshake
		default:
			t.Fatalf("ticket %q: status %d %s", ticket, w.Code, w.Body)
		}
	})
}
