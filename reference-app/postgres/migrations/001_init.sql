-- Every shard gets the same schema; the catalog tables are used on shard 0 only.
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('student', 'instructor', 'admin')),
    password_hash bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE courses (
    id            uuid PRIMARY KEY,
    slug          text NOT NULL UNIQUE,
    title         text NOT NULL,
    description   text NOT NULL DEFAULT '',
    category      text NOT NULL,
    instructor_id uuid NOT NULL,
    capacity      integer NOT NULL CHECK (capacity >= 0),
    seats_taken   integer NOT NULL DEFAULT 0,
    lesson_count  integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT seats_within_capacity CHECK (seats_taken >= 0 AND seats_taken <= capacity)
);
CREATE INDEX courses_category ON courses (category, created_at, id);
CREATE INDEX courses_created ON courses (created_at, id);

CREATE TABLE lessons (
    id               uuid PRIMARY KEY,
    course_id        uuid NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    position         integer NOT NULL,
    title            text NOT NULL,
    body             text NOT NULL DEFAULT '',
    duration_seconds integer NOT NULL DEFAULT 0,
    quiz_answers     integer[] NOT NULL DEFAULT '{}',
    UNIQUE (course_id, position)
);

-- The seat ledger: one claim per (course, user), on the catalog shard, taken
-- in the same transaction as the seat counter increment.
CREATE TABLE seat_claims (
    course_id       uuid NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL,
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (course_id, user_id)
);
CREATE UNIQUE INDEX seat_claims_idempotency ON seat_claims (user_id, idempotency_key);

-- User-owned rows (on the user's shard).
CREATE TABLE enrollments (
    user_id    uuid NOT NULL,
    course_id  uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, course_id)
);

CREATE TABLE lesson_progress (
    user_id      uuid NOT NULL,
    lesson_id    uuid NOT NULL,
    course_id    uuid NOT NULL,
    percent      integer NOT NULL CHECK (percent BETWEEN 0 AND 100),
    completed_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, lesson_id)
);
CREATE INDEX lesson_progress_course ON lesson_progress (user_id, course_id);

CREATE TABLE quiz_attempts (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    lesson_id  uuid NOT NULL,
    course_id  uuid NOT NULL,
    score      integer NOT NULL,
    max_score  integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quiz_attempts_user ON quiz_attempts (user_id, lesson_id);

CREATE TABLE live_sessions (
    id        uuid PRIMARY KEY,
    course_id uuid NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    title     text NOT NULL,
    starts_at timestamptz NOT NULL,
    capacity  integer NOT NULL CHECK (capacity >= 0)
);
CREATE INDEX live_sessions_starts ON live_sessions (starts_at, id);
