package academy

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// claims are the JWT claims of an access token.
type claims struct {
	Role Role `json:"role"`
	// SessionID (sid) names the session the token belongs to: it stops
	// working when the session is revoked. Tokens from IssueToken have none.
	SessionID string `json:"sid,omitempty"`
	// Scope (scp) restricts the token: "mfa-setup" or none.
	Scope Scope `json:"scp,omitempty"`
	jwt.RegisteredClaims
}

// audience is the aud claim of access tokens: tokens minted for another
// service by the same issuer are refused.
const audience = "academy-api"

// issueAccess signs an HS256 access token for id valid for ttl, bound to
// sessionID unless it is uuid.Nil.
func issueAccess(secret []byte, id, sessionID uuid.UUID, role Role, scope Scope, now time.Time, ttl time.Duration) (string, error) {
	c := claims{
		Role:  role,
		Scope: scope,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   id.String(),
			Issuer:    "academy",
			Audience:  jwt.ClaimStrings{audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	if sessionID != uuid.Nil {
		c.SessionID = sessionID.String()
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}

// verifyAccess checks an access token and returns its principal.
func verifyAccess(secret []byte, token string, now time.Time) (Principal, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer("academy"),
		jwt.WithAudience(audience),
		jwt.WithIssuedAt(), // an iat in the future is refused
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil || c.IssuedAt == nil {
		return Principal{}, ErrInvalidToken
	}
	id, err := uuid.Parse(c.Subject)
	if err != nil || !c.Role.Valid() {
		return Principal{}, ErrInvalidToken
	}
	if c.Scope != "" && c.Scope != ScopeMFASetup {
		return Principal{}, ErrInvalidToken
	}
	p := Principal{UserID: id, Role: c.Role, Scope: c.Scope}
	if c.SessionID != "" {
		if p.SessionID, err = uuid.Parse(c.SessionID); err != nil {
			return Principal{}, ErrInvalidToken
		}
	}
	return p, nil
}

// newRefreshToken returns a random refresh token that embeds the user id
// (so that the shard holding it can be found) and its storage hash.
func newRefreshToken(id uuid.UUID) (token string, hash []byte, err error) {
	b := make([]byte, 16+32)
	copy(b, id[:])
	if _, err := rand.Read(b[16:]); err != nil {
		return "", nil, err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token), nil
}

// parseRefreshToken returns the user id embedded in token and its hash.
func parseRefreshToken(token string) (uuid.UUID, []byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != 48 {
		return uuid.Nil, nil, errors.New("malformed refresh token")
	}
	id, _ := uuid.FromBytes(b[:16])
	return id, hashToken(token), nil
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
