package academy

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Scope is what an API key may do.
type Scope string

// The scopes of API keys.
const (
	ScopeRead  Scope = "read"  // safe methods only (GET, HEAD)
	ScopeWrite Scope = "write" // everything its owner's role may do, but manage credentials
	// ScopeMFASetup is the scope of the access tokens of a user who must
	// use MFA and has not enrolled: MFA enrollment, GET /v1/me and logout only.
	ScopeMFASetup Scope = "mfa-setup"
)

// MaxAPIKeys bounds the unrevoked API keys of one user.
const MaxAPIKeys = 10

// apiKeyPrefix starts every API key, so that leaked keys are recognisable.
const apiKeyPrefix = "ak_"

// APIKey describes an API key; the key itself is shown once, at creation.
type APIKey struct {
	ID        uuid.UUID  `json:"id"`
	UserID    uuid.UUID  `json:"user_id"`
	Name      string     `json:"name"`
	Scope     Scope      `json:"scope"`
	Prefix    string     `json:"prefix"` // the key's first characters
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// NewAPIKey is a created key with its secret.
type NewAPIKey struct {
	APIKey
	Key string `json:"key"`
}

// newAPIKeySecret returns a random key that embeds the owner's id (so that
// the shard holding it can be found), after 24 random bytes.
func newAPIKeySecret(owner uuid.UUID) (string, error) {
	b := make([]byte, 24+16)
	if _, err := rand.Read(b[:24]); err != nil {
		return "", err
	}
	copy(b[24:], owner[:])
	return apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// parseAPIKey returns the owner embedded in key.
func parseAPIKey(key string) (uuid.UUID, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(key, apiKeyPrefix))
	if err != nil || len(b) != 40 || !strings.HasPrefix(key, apiKeyPrefix) {
		return uuid.Nil, false
	}
	id, _ := uuid.FromBytes(b[24:])
	return id, true
}

// CreateAPIKey creates an API key of the caller with scope (read or write).
// Only a signed-in user (not an API key, not the admin token) may.
func (s *Service) CreateAPIKey(ctx context.Context, p Principal, name string, scope Scope) (NewAPIKey, error) {
	if err := s.requireSession(p); err != nil {
		return NewAPIKey{}, err
	}
	name = strings.TrimSpace(name)
	if err := validateText("name", name, 1, 100); err != nil {
		return NewAPIKey{}, err
	}
	if scope != ScopeRead && scope != ScopeWrite {
		return NewAPIKey{}, Invalid("scope", "must be read or write")
	}
	key, err := newAPIKeySecret(p.UserID)
	if err != nil {
		return NewAPIKey{}, err
	}
	k := APIKey{ID: uuid.New(), UserID: p.UserID, Name: name, Scope: scope, Prefix: key[:len(apiKeyPrefix)+8], CreatedAt: s.opts.Now().UTC()}
	if err := s.store.CreateAPIKey(ctx, k, hashToken(key), MaxAPIKeys); err != nil {
		return NewAPIKey{}, err
	}
	return NewAPIKey{APIKey: k, Key: key}, nil
}

// APIKeys lists the caller's API keys (never the keys themselves).
func (s *Service) APIKeys(ctx context.Context, p Principal) ([]APIKey, error) {
	if err := s.requireSession(p); err != nil {
		return nil, err
	}
	keys, err := s.store.APIKeys(ctx, p.UserID)
	if keys == nil {
		keys = []APIKey{}
	}
	return keys, err
}

// RevokeAPIKey revokes one of the caller's keys. It stops working at once
// on this replica and on replicas sharing its Redis; on others within
// Options.SessionCheckTTL.
func (s *Service) RevokeAPIKey(ctx context.Context, p Principal, id string) error {
	if err := s.requireSession(p); err != nil {
		return err
	}
	kid, err := uuid.Parse(id)
	if err != nil {
		return ErrAPIKeyNotFound
	}
	hash, err := s.store.RevokeAPIKey(ctx, p.UserID, kid, s.opts.Now())
	if err != nil {
		return err
	}
	s.cache.Set(ctx, apiKeyCacheKey(hash), []byte("revoked"), s.opts.SessionCheckTTL)
	return nil
}

func apiKeyCacheKey(hash []byte) string { return "apikey:" + hex.EncodeToString(hash) }

// AuthenticateAPIKey resolves an API key to its owner with the key's scope.
// The answer is cached for Options.SessionCheckTTL.
func (s *Service) AuthenticateAPIKey(ctx context.Context, key string) (Principal, error) {
	owner, ok := parseAPIKey(key)
	if !ok {
		return Principal{}, ErrInvalidAPIKey
	}
	hash := hashToken(key)
	ck := apiKeyCacheKey(hash)
	if b, ok := s.cache.Get(ctx, ck); ok {
		var p Principal
		if string(b) != "revoked" && json.Unmarshal(b, &p) == nil && p.APIKeyID != uuid.Nil {
			return p, nil
		}
		return Principal{}, ErrInvalidAPIKey
	}
	k, role, err := s.store.APIKeyByHash(ctx, owner, hash)
	if err != nil {
		return Principal{}, err
	}
	if k.RevokedAt != nil {
		s.cache.Set(ctx, ck, []byte("revoked"), s.opts.SessionCheckTTL)
		return Principal{}, ErrInvalidAPIKey
	}
	p := Principal{UserID: k.UserID, Role: role, APIKeyID: k.ID, Scope: k.Scope}
	if b, err := json.Marshal(p); err == nil {
		s.cache.Set(ctx, ck, b, s.opts.SessionCheckTTL)
	}
	return p, nil
}

// requireSession admits a signed-in user with a token: not an API key (a
// leaked key must not mint keys or change the second factor), not the
// admin token (no account).
func (s *Service) requireSession(p Principal) error {
	if err := requireUser(p); err != nil {
		return err
	}
	if p.APIKeyID != uuid.Nil {
		return ErrSessionRequired
	}
	if p.UserID == uuid.Nil {
		return Errorf(KindForbidden, "account_required", "the admin token is no account; sign in as a user")
	}
	return nil
}
