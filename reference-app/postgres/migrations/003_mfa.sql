-- TOTP multi-factor authentication (RFC 6238). A user's secret is pending
-- until confirmed with a code (totp_enabled). totp_last_step is the time
-- step of the last code accepted: a code is accepted once (no replay).
-- Recovery codes are stored as SHA-256 hashes and used once. On the user's shard.
ALTER TABLE users
    ADD COLUMN totp_secret    text,
    ADD COLUMN totp_enabled   boolean NOT NULL DEFAULT false,
    ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;

CREATE TABLE recovery_codes (
    user_id   uuid NOT NULL,
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);
