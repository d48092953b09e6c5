-- Sessions (refresh-token families). A login opens a session with its first
-- refresh token; each refresh marks the presented token used and adds the
-- next one to the same session. Presenting a used token again (reuse: a copy
-- was stolen) revokes the session: every refresh token of the family, and the
-- access tokens that carry its id, stop working. Logout revokes it too.
-- Rows live on the user's shard.
CREATE TABLE sessions (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Refresh tokens issued before sessions existed belong to no family: they
-- are dropped (their users sign in again).
DELETE FROM refresh_tokens;
ALTER TABLE refresh_tokens
    ADD COLUMN session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    ADD COLUMN used_at    timestamptz;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
