-- API keys of machine clients, on the owner's shard. Only the SHA-256 hash
-- of a key is stored; prefix is its first characters, shown in listings.
CREATE TABLE api_keys (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    name       text NOT NULL,
    scope      text NOT NULL CHECK (scope IN ('read', 'write')),
    prefix     text NOT NULL,
    key_hash   bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);
