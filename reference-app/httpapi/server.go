package httpapi

import (
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/live"
)

// LiveHub is what the API needs from the live-class hub (reference-app/live).
type LiveHub interface {
	// Issue returns a short-lived ticket to join sessionID; an error
	// matching IsFull(err) when the session is at capacity.
	Issue(sessionID, userID string, capacity int) (ticket string, expires time.Time, err error)
	// ServeWS upgrades to a WebSocket after checking ?ticket=.
	ServeWS(w http.ResponseWriter, r *http.Request, sessionID string)
	// Publish pushes msg to every client of sessionID (progress pushes).
	Publish(sessionID string, msg live.Message)
}

// VideoLibrary serves HLS playlists and segments (reference-app/video).
type VideoLibrary interface {
	ServeMaster(w http.ResponseWriter, r *http.Request, lessonID string)
	ServeMedia(w http.ResponseWriter, r *http.Request, lessonID, rendition string)
	ServeSegment(w http.ResponseWriter, r *http.Request, lessonID, rendition string, n int)
}

// CacheHealth reports the state of the cache for /readyz.
type CacheHealth interface {
	// Status is "ok", "degraded" or "memory".
	Status() string
}

// RateLimits configure rate limiting. Zero rates disable a scope.
type RateLimits struct {
	PerIP     float64 // requests per second per client IP
	IPBurst   int
	PerUser   float64 // requests per second per authenticated user
	UserBurst int
}

// DefaultRateLimits are generous, so that load tests measure the app.
func DefaultRateLimits() RateLimits {
	return RateLimits{PerIP: 20000, IPBurst: 40000, PerUser: 200, UserBurst: 400}
}

// LoginThrottle limits failed logins (wrong password or unknown account):
// each failure takes a token of the account's bucket and of the client IP's
// bucket; while either is empty, logins to that account or from that IP are
// answered 429 login_throttled with Retry-After, before any password check.
// Successful logins take no token. Zero rates disable a scope.
type LoginThrottle struct {
	PerAccount   float64 // failures per second refilled per account (normalised e-mail)
	AccountBurst int
	PerIP        float64 // failures per second refilled per client IP
	IPBurst      int
}

// DefaultLoginThrottle allows 10 failures per account, then one every 6 s,
// and 100 per IP, then two a second.
func DefaultLoginThrottle() LoginThrottle {
	return LoginThrottle{PerAccount: 1.0 / 6, AccountBurst: 10, PerIP: 2, IPBurst: 100}
}

// MFAThrottle limits wrong second factors (TOTP or recovery codes) per
// account, at login and when confirming or turning off MFA: each attempt
// with a code holds a token while it runs and keeps it if the code was
// wrong; while the bucket is empty, attempts with a code are answered 429
// mfa_throttled with Retry-After before any check. Zero rate disables it.
type MFAThrottle struct {
	PerAccount float64 // wrong codes per second refilled per account
	Burst      int
}

// DefaultMFAThrottle allows 5 wrong codes per account, then one every 30 s
// (a time step): guessing a 6-digit code takes months.
func DefaultMFAThrottle() MFAThrottle { return MFAThrottle{PerAccount: 1.0 / 30, Burst: 5} }

// APIKeyLimit limits the requests of each API key: a token bucket per key,
// on top of its owner's per-user limit. Zero rate disables it.
type APIKeyLimit struct {
	PerKey float64 // requests per second per key
	Burst  int
}

// DefaultAPIKeyLimit allows a machine client 50 requests a second, bursts
// of 100.
func DefaultAPIKeyLimit() APIKeyLimit { return APIKeyLimit{PerKey: 50, Burst: 100} }

// Options configure the server. Zero values take the defaults.
type Options struct {
	// AdminToken, when set, authenticates "Authorization: Bearer <token>"
	// as an admin.
	AdminToken string
	// AllowUnsafeFaults allows the drop-write fault.
	AllowUnsafeFaults bool
	// MaxInFlight bounds concurrent requests (default 512; -1 no bound).
	MaxInFlight int
	// AdmissionWait is how long a request may wait for a slot (default 50ms).
	AdmissionWait time.Duration
	// RateLimits; DisableRateLimit turns them off.
	RateLimits       RateLimits
	DisableRateLimit bool
	// LoginThrottle limits failed logins (default DefaultLoginThrottle;
	// not turned off by DisableRateLimit).
	LoginThrottle LoginThrottle
	// MFAThrottle limits wrong second factors (default DefaultMFAThrottle;
	// not turned off by DisableRateLimit).
	MFAThrottle MFAThrottle
	// APIKeyLimit limits the requests of each API key (default
	// DefaultAPIKeyLimit; turned off by DisableRateLimit).
	APIKeyLimit APIKeyLimit
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64
	// LiveIsFull tells whether an error of LiveHub.Issue means "full".
	LiveIsFull func(error) bool
	// LiveTooMany tells whether an error of LiveHub.Issue means "the user
	// holds too many connections" (429 too_many_connections).
	LiveTooMany func(error) bool
}

// Deps are the server's dependencies. Service and Registry are required.
type Deps struct {
	Service  *academy.Service
	Cache    CacheHealth  // nil: reported as "none"
	Live     LiveHub      // nil: live routes answer 503
	Video    VideoLibrary // nil: video routes answer 404
	Web      http.Handler // nil: GET / answers a JSON index
	Registry *prometheus.Registry
	Logger   *slog.Logger // nil: discard
	Options  Options
}

type server struct {
	svc     *academy.Service
	deps    Deps
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	m       *metrics
	faults  faults
	routes  map[string]bool // paths of route patterns, for fault validation
	slots   chan struct{}
	ipLim   *limiter
	userLim *limiter
	// Failed logins per account and per IP (nil: not throttled).
	loginAccountLim, loginIPLim *limiter
	mfaLim                      *limiter // wrong second factors per account (nil: not throttled)
	keyLim                      *limiter // requests per API key (nil: not limited)
	handler                     http.Handler
}

// NewServer returns the academy's HTTP handler.
func NewServer(d Deps) http.Handler {
	o := d.Options
	if o.MaxInFlight == 0 {
		o.MaxInFlight = 512
	}
	if o.AdmissionWait <= 0 {
		o.AdmissionWait = 50 * time.Millisecond
	}
	if o.RateLimits == (RateLimits{}) {
		o.RateLimits = DefaultRateLimits()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.LoginThrottle == (LoginThrottle{}) {
		o.LoginThrottle = DefaultLoginThrottle()
	}
	if o.APIKeyLimit == (APIKeyLimit{}) {
		o.APIKeyLimit = DefaultAPIKeyLimit()
	}
	if o.MFAThrottle == (MFAThrottle{}) {
		o.MFAThrottle = DefaultMFAThrottle()
	}
	if o.LiveIsFull == nil {
		o.LiveIsFull = func(error) bool { return false }
	}
	if o.LiveTooMany == nil {
		o.LiveTooMany = func(error) bool { return false }
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &server{svc: d.Service, deps: d, opts: o, log: log, mux: http.NewServeMux(), m: newMetrics(d.Registry), routes: map[string]bool{}}
	if o.MaxInFlight > 0 {
		s.slots = make(chan struct{}, o.MaxInFlight)
	}
	if !o.DisableRateLimit {
		if o.RateLimits.PerIP > 0 {
			s.ipLim = newLimiter(o.RateLimits.PerIP, o.RateLimits.IPBurst)
		}
		if o.RateLimits.PerUser > 0 {
			s.userLim = newLimiter(o.RateLimits.PerUser, o.RateLimits.UserBurst)
		}
		if o.APIKeyLimit.PerKey > 0 {
			s.keyLim = newLimiter(o.APIKeyLimit.PerKey, o.APIKeyLimit.Burst)
		}
	}
	if lt := o.LoginThrottle; lt.PerAccount > 0 {
		s.loginAccountLim = newLimiter(lt.PerAccount, lt.AccountBurst)
	}
	if lt := o.LoginThrottle; lt.PerIP > 0 {
		s.loginIPLim = newLimiter(lt.PerIP, lt.IPBurst)
	}
	if o.MFAThrottle.PerAccount > 0 {
		s.mfaLim = newLimiter(o.MFAThrottle.PerAccount, o.MFAThrottle.Burst)
	}
	s.registerRoutes()
	s.handler = recoverer(log)(securityHeaders(readYourWrites(s.jsonNotFound(s.mux))))
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// access says who may call a route.
type access int

const (
	public access = iota // anyone; a bearer token, if sent, must be valid
	user                 // a signed-in user
	admin                // the admin role or the admin token
	ops                  // health and metrics: no admission control, no rate limit
)

// apiFunc is a handler that receives the caller and returns an error to
// be written as JSON.
type apiFunc func(w http.ResponseWriter, r *http.Request, p academy.Principal) error

// handle registers pattern with the per-route middleware chain.
func (s *server) handle(pattern string, a access, h apiFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	if a != ops { // probes and metrics take no faults
		s.routes[path] = true
	}
	// Tokens, a user's data and admin answers: never in a shared or browser
	// cache. (Public catalog answers say how long they may be cached.)
	personal := a == user || a == admin || strings.HasPrefix(path, "/v1/sessions") || strings.HasPrefix(path, "/v1/me")
	var hh http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if personal {
			w.Header().Set("Cache-Control", "no-store")
		}
		p, err := s.authenticate(r, a)
		if err == nil && a != ops {
			err = s.limitAPIKey(w, p)
		}
		if err == nil && a != ops {
			err = s.limitUser(w, p)
		}
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			if oe := (*academy.OverloadError)(nil); errors.As(err, &oe) {
				s.m.shed.WithLabelValues(oe.Queue).Inc()
			}
			writeError(w, r, s.log, err)
		}
	})
	hh = s.bodyLimit(hh)
	if a == admin { // an admin route's faults apply to admins only: others get 401 or 403 first
		hh = s.authenticateFirst(a, s.injectFaults(path, hh))
	} else if a != ops {
		hh = s.injectFaults(path, hh)
		hh = s.limitIP(hh)
		hh = s.admit(hh)
	}
	hh = s.instrument(pattern, method, hh)
	s.mux.Handle(pattern, hh)
}

// handleWeb registers pattern for the landing page and its assets, with the same
// protection and runtime faults as the API routes (the fault route is the pattern's path:
// "/{$}" for the page, "/static/" for the assets).
func (s *server) handleWeb(pattern string) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routes[path] = true
	hh := s.injectFaults(path, s.deps.Web)
	hh = s.limitIP(hh)
	hh = s.admit(hh)
	s.mux.Handle(pattern, s.instrument(pattern, method, hh))
}

// authenticateFirst answers the error of authenticate before next runs.
func (s *server) authenticateFirst(a access, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.authenticate(r, a); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// mfaSetupRoutes are what a token of scope mfa-setup may call.
var mfaSetupRoutes = map[string]bool{
	"POST /v1/me/mfa/totp": true, "POST /v1/me/mfa/totp/confirm": true,
	"GET /v1/me": true, "DELETE /v1/sessions": true,
}

// authenticate resolves the caller according to the route's access.
func (s *server) authenticate(r *http.Request, a access) (academy.Principal, error) {
	if a == ops {
		return academy.Principal{}, nil
	}
	var p academy.Principal
	if key := r.Header.Get("X-API-Key"); key != "" {
		if r.Header.Get("Authorization") != "" {
			return p, academy.Invalid("X-API-Key", "send either an API key or an Authorization header, not both")
		}
		var err error
		if p, err = s.svc.AuthenticateAPIKey(r.Context(), key); err != nil {
			return p, err
		}
	} else if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ") // the scheme is case-insensitive (RFC 9110)
		token = strings.TrimLeft(token, " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			return p, academy.ErrInvalidToken
		}
		if s.opts.AdminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.AdminToken)) == 1 {
			p = academy.Principal{Role: academy.RoleAdmin}
		} else {
			var err error
			if p, err = s.svc.Authenticate(r.Context(), token); err != nil {
				return p, err
			}
		}
	}
	switch {
	case a == public:
		return p, nil
	case !p.Authenticated():
		return p, academy.ErrUnauthenticated
	case a == admin && p.Role != academy.RoleAdmin:
		return p, academy.ErrForbidden
	case p.Scope == academy.ScopeRead && r.Method != http.MethodGet && r.Method != http.MethodHead:
		return p, academy.ErrInsufficientScope
	case p.Scope == academy.ScopeMFASetup && !mfaSetupRoutes[r.Pattern]:
		return p, academy.ErrMFAEnrollmentRequired
	}
	return p, nil
}
