-- Share links, file drops and mail (shared/api/links.go, docs/sharing.md).
-- Everything the client seals (link metadata, keys wrapped under a link's
-- password, drop boxes and metadata) is an opaque BLOB here. Times are Unix
-- milliseconds (UTC).

-- A link to a node of its owner (kind file or folder) or a drop into one of
-- their folders (kind drop). target is not a foreign key: a link outlives
-- its target (deleted for good) to answer "the owner deleted what this link
-- shared". A removed link keeps its row (removed_at) so its id answers
-- "link removed" rather than "not found". lock, wrapped and auth_hash are
-- a password link's material (auth_hash: SHA-256 of the password's proof;
-- the node never sees the password). downloads counts access tokens that
-- fetched content. failures/blocked_until throttle wrong passwords.
CREATE TABLE links (
    id            TEXT    PRIMARY KEY,
    owner         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    target        TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('file', 'folder', 'drop')),
    key_mode      TEXT    NOT NULL CHECK (key_mode IN ('fragment', 'none', 'password')),
    lock          BLOB,
    wrapped       BLOB,
    auth_hash     BLOB,
    meta          BLOB,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    max_downloads INTEGER NOT NULL DEFAULT 0,
    downloads     INTEGER NOT NULL DEFAULT 0,
    max_total     INTEGER NOT NULL DEFAULT 0,
    max_file      INTEGER NOT NULL DEFAULT 0,
    max_files     INTEGER NOT NULL DEFAULT 0,
    removed_at    INTEGER,
    failures      INTEGER NOT NULL DEFAULT 0,
    last_failure  INTEGER NOT NULL DEFAULT 0,
    blocked_until INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX links_owner ON links(owner, created_at);
CREATE INDEX links_target ON links(target);

-- Access tokens of links (POST public/links/{id}/access). Only the token's
-- SHA-256 is stored, as for sessions. counted: the token fetched content
-- once and was counted in its link's downloads.
CREATE TABLE link_tokens (
    token_hash BLOB    PRIMARY KEY,
    link       TEXT    NOT NULL REFERENCES links(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    counted    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX link_tokens_link ON link_tokens(link);
CREATE INDEX link_tokens_expiry ON link_tokens(expires_at);

-- An upload through a drop link belongs to the link's owner (it counts in
-- their quota) and is reserved to that link: only its tokens continue it.
ALTER TABLE uploads ADD COLUMN link TEXT;
CREATE INDEX uploads_link ON uploads(link) WHERE link IS NOT NULL;

-- Files dropped through a link, until the owner's client adopts them into
-- the folder (POST nodes with version.from_drop) or discards them. box is
-- the file's key sealed to the owner's public key; meta the FileMeta under
-- the file's own meta key; version_meta its VersionMeta. verify_cap and
-- storage_index are '' (size 0) for a literal file. size counts in the
-- owner's quota.
CREATE TABLE drop_files (
    id            TEXT    PRIMARY KEY,
    link          TEXT    NOT NULL,
    owner         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    folder        TEXT    NOT NULL,
    box           BLOB    NOT NULL,
    meta          BLOB    NOT NULL,
    version_id    TEXT    NOT NULL,
    version_meta  BLOB    NOT NULL,
    verify_cap    TEXT    NOT NULL,
    storage_index TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX drop_files_folder ON drop_files(owner, folder, created_at);
CREATE INDEX drop_files_link ON drop_files(link);

-- The node's SMTP settings (one row). The password is stored in clear, as
-- any mail client's configuration is: the node must present it to the
-- mail server.
CREATE TABLE mail_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    host       TEXT    NOT NULL,
    port       INTEGER NOT NULL,
    tls        TEXT    NOT NULL CHECK (tls IN ('starttls', 'tls', 'none')),
    username   TEXT    NOT NULL DEFAULT '',
    password   TEXT    NOT NULL DEFAULT '',
    from_addr  TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Share mails sent, per user, for the hourly limit (rows older than a day
-- are purged when a mail is sent).
CREATE TABLE mail_sent (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sent_at    INTEGER NOT NULL,
    recipients INTEGER NOT NULL
);
CREATE INDEX mail_sent_user ON mail_sent(user_id, sent_at);
