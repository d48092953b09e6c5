package academy

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters (RFC 6238 with the defaults authenticator apps assume).
const (
	totpIssuer = "TrendTactics Academy"
	totpPeriod = 30 // seconds per time step
	totpSkew   = 1  // steps accepted before and after the current one (clock drift)
	// RecoveryCodes is how many single-use recovery codes a confirmation returns.
	RecoveryCodes = 10
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPEnrollment is a pending TOTP secret: show it (or its otpauth URL as a
// QR code) to an authenticator app, then confirm with a code.
type TOTPEnrollment struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
}

// ErrOTPWrongCode is a wrong, expired or replayed code when confirming or
// turning off MFA (a signed-in call: 400, not 401).
var ErrOTPWrongCode = &Error{Kind: KindInvalid, Code: "invalid_otp", Field: "code", Message: "wrong, expired or already used one-time code"}

// IsOTPFailure reports whether err is a wrong second factor (the HTTP layer
// throttles those per account).
func IsOTPFailure(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == "invalid_otp"
}

// Credentials are what a login presents. OTP or RecoveryCode is needed once
// the account has MFA on.
type Credentials struct {
	Email, Password   string
	OTP, RecoveryCode string
}

// account returns the caller's stored record (see requireSession).
func (s *Service) account(ctx context.Context, p Principal) (UserRecord, error) {
	if err := s.requireSession(p); err != nil {
		return UserRecord{}, err
	}
	return s.store.UserByID(ctx, p.UserID)
}

// EnrollTOTP starts (or restarts) the caller's TOTP enrollment with a new
// secret; MFA is on only once ConfirmTOTP accepts a code of it.
func (s *Service) EnrollTOTP(ctx context.Context, p Principal) (TOTPEnrollment, error) {
	u, err := s.account(ctx, p)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	if u.TOTPEnabled {
		return TOTPEnrollment{}, ErrMFAEnabled
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return TOTPEnrollment{}, fmt.Errorf("generate totp secret: %w", err)
	}
	if err := s.store.SetTOTPSecret(ctx, u.ID, key.Secret()); err != nil {
		return TOTPEnrollment{}, err
	}
	return TOTPEnrollment{Secret: key.Secret(), OTPAuthURL: key.URL()}, nil
}

// ConfirmTOTP turns MFA on when code matches the pending secret, and
// returns the recovery codes (shown once; stored hashed).
func (s *Service) ConfirmTOTP(ctx context.Context, p Principal, code string) ([]string, error) {
	u, err := s.account(ctx, p)
	if err != nil {
		return nil, err
	}
	switch {
	case u.TOTPEnabled:
		return nil, ErrMFAEnabled
	case u.TOTPSecret == "":
		return nil, ErrMFAConfirmFailed
	}
	step, ok := matchTOTP(u.TOTPSecret, code, s.opts.Now())
	if !ok || step <= u.TOTPLastStep {
		return nil, ErrOTPWrongCode
	}
	codes := make([]string, RecoveryCodes)
	hashes := make([][]byte, RecoveryCodes)
	for i := range codes {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		c := strings.ToLower(base32.StdEncoding.EncodeToString(b)) // 16 characters, 80 bits
		codes[i] = c[:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:]
		hashes[i] = hashToken(c)
	}
	if err := s.store.EnableTOTP(ctx, u.ID, step, hashes); err != nil {
		return nil, err
	}
	s.cache.Delete(ctx, "user:"+u.ID.String())
	return codes, nil
}

// DisableTOTP turns the caller's MFA off; it needs a current code or a
// recovery code (a stolen access token alone cannot remove the factor).
func (s *Service) DisableTOTP(ctx context.Context, p Principal, code, recovery string) error {
	u, err := s.account(ctx, p)
	if err != nil {
		return err
	}
	if !u.TOTPEnabled {
		return ErrMFANotEnabled
	}
	if code == "" && recovery == "" {
		return Invalid("code", "a one-time code or a recovery code (recovery_code) is required")
	}
	if err := s.secondFactor(ctx, u, code, recovery, ErrOTPWrongCode); err != nil {
		return err
	}
	return s.store.DisableTOTP(ctx, u.ID)
}

// secondFactor checks a TOTP code (each accepted once: a replay, even
// within its 30 s, fails) or spends a recovery code; wrong is the error of
// a wrong one.
func (s *Service) secondFactor(ctx context.Context, u UserRecord, code, recovery string, wrong *Error) error {
	switch {
	case code != "":
		step, ok := matchTOTP(u.TOTPSecret, code, s.opts.Now())
		if !ok {
			return wrong
		}
		fresh, err := s.store.UseTOTPStep(ctx, u.ID, step)
		if err != nil {
			return err
		}
		if !fresh {
			return wrong
		}
	case recovery != "":
		norm := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(recovery))
		if len(norm) != 16 {
			return wrong
		}
		ok, err := s.store.UseRecoveryCode(ctx, u.ID, hashToken(norm))
		if err != nil {
			return err
		}
		if !ok {
			return wrong
		}
	default:
		return ErrMFARequired
	}
	return nil
}

// matchTOTP returns the time step, within totpSkew of now, whose code is
// code (github.com/pquerna/otp computes the codes).
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	step := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step + d, true
		}
	}
	return 0, false
}
