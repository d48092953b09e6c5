package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// limitAPIKey takes a token of the bucket of the API key that authenticated
// p, or answers 429 rate_limited with Retry-After.
func (s *server) limitAPIKey(w http.ResponseWriter, p academy.Principal) error {
	if s.keyLim == nil || p.APIKeyID == uuid.Nil {
		return nil
	}
	if ok, wait := s.keyLim.allow(p.APIKeyID.String(), time.Now()); !ok {
		s.m.limited.WithLabelValues("api_key").Inc()
		setRetryAfter(w, wait)
		return &academy.Error{Kind: academy.KindInvalid, Code: "rate_limited", Message: "too many requests for this API key; retry later"}
	}
	return nil
}

func (s *server) handleCreateAPIKey(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	var in struct {
		Name  string        `json:"name"`
		Scope academy.Scope `json:"scope"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	k, err := s.svc.CreateAPIKey(r.Context(), p, in.Name, in.Scope)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, k)
	return nil
}

func (s *server) handleAPIKeys(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	keys, err := s.svc.APIKeys(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": keys})
	return nil
}

func (s *server) handleRevokeAPIKey(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	if err := s.svc.RevokeAPIKey(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
