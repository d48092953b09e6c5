package live

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// claims are what a ticket carries. The nonce makes every ticket distinct so
// that the hub can redeem it once.
type claims struct {
	Session string `json:"s"`
	User    string `json:"u"`
	Expires int64  `json:"e"` // Unix milliseconds
	Nonce   string `json:"n"`
}

var (
	errTicketMalformed = errors.New("ticket is malformed")
	errTicketSignature = errors.New("ticket signature is invalid")
)

// sign returns base64url(JSON claims) "." base64url(HMAC-SHA256 of the first part).
func sign(secret []byte, c claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	body := base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(mac(secret, body)), nil
}

// verify checks the ticket's signature and returns its claims; it does not
// look at expiry, session or reuse.
func verify(secret []byte, ticket string) (claims, error) {
	var c claims
	if len(ticket) > maxTicketBytes {
		return c, errTicketMalformed
	}
	body, sig, ok := strings.Cut(ticket, ".")
	if !ok {
		return c, errTicketMalformed
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return c, errTicketMalformed
	}
	if !hmac.Equal(got, mac(secret, body)) {
		return c, errTicketSignature
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return c, errTicketMalformed
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Nonce == "" || c.Session == "" {
		return c, errTicketMalformed
	}
	return c, nil
}

func mac(secret []byte, body string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(body))
	return m.Sum(nil)
}

// maxTicketBytes bounds the ticket a client may present.
const maxTicketBytes = 2048

func expiry(c claims) time.Time { return time.UnixMilli(c.Expires) }
