-- Accounts, sessions, login throttling and node settings.
-- Times are Unix seconds (UTC).

CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    pw_hash     TEXT    NOT NULL,              -- PHC string, argon2id
    is_admin    INTEGER NOT NULL DEFAULT 0,
    disabled    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    pw_changed_at INTEGER NOT NULL
);

-- The session token itself is never stored: only its SHA-256, so a copy of the
-- database does not let anyone log in.
CREATE TABLE sessions (
    token_hash  BLOB    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    user_agent  TEXT    NOT NULL DEFAULT '',
    remote      TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

-- Failed logins per key ("user:NAME" or "addr:NETWORK").
CREATE TABLE login_failures (
    key           TEXT    PRIMARY KEY,
    failures      INTEGER NOT NULL,
    last_failure  INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL
) WITHOUT ROWID;

-- Node-wide settings. 'setup_completed' exists once the first administrator
-- was created; its presence (not the presence of users) closes setup for good.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
