package httpapi

import (
	"net/http"
	"time"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// errMFAThrottled answers an attempt with a code while the account's budget
// of wrong codes is spent.
var errMFAThrottled = &academy.Error{Kind: academy.KindInvalid, Code: "mfa_throttled",
	Message: "too many wrong one-time codes; retry later"}

// mfaThrottled takes a token of key's budget of wrong codes for an attempt
// with a code (mfaDone gives it back unless the code was wrong), or fails
// with errMFAThrottled and Retry-After when none is left.
func (s *server) mfaThrottled(w http.ResponseWriter, key string) error {
	if s.mfaLim == nil {
		return nil
	}
	if ok, wait := s.mfaLim.allow(key, time.Now()); !ok {
		s.m.limited.WithLabelValues("mfa").Inc()
		setRetryAfter(w, wait)
		return errMFAThrottled
	}
	return nil
}

// mfaDone settles an attempt that mfaThrottled let through.
func (s *server) mfaDone(key string, err error) {
	if s.mfaLim != nil && !academy.IsOTPFailure(err) {
		s.mfaLim.refund(key)
	}
}

func (s *server) handleEnrollTOTP(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	e, err := s.svc.EnrollTOTP(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (s *server) handleConfirmTOTP(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	key := p.UserID.String()
	if err := s.mfaThrottled(w, key); err != nil {
		return err
	}
	codes, err := s.svc.ConfirmTOTP(r.Context(), p, in.Code)
	s.mfaDone(key, err)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"mfa": "totp", "recovery_codes": codes})
	return nil
}

func (s *server) handleDisableTOTP(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	var in struct {
		Code         string `json:"code"`
		RecoveryCode string `json:"recovery_code"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	key := p.UserID.String()
	if err := s.mfaThrottled(w, key); err != nil {
		return err
	}
	err := s.svc.DisableTOTP(r.Context(), p, in.Code, in.RecoveryCode)
	s.mfaDone(key, err)
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
