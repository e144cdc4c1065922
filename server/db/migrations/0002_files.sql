-- Files (docs/files.md): keys, the tree, versions, uploads, settings, quotas.
-- Everything the client seals (names, metadata, keys) is an opaque BLOB here.
-- Times in these tables are Unix milliseconds (UTC): listings sort by them.

-- An administrator's quota per user (bytes, 0: none), and the flag of an
-- account an administrator created: its user must choose their own password
-- before making keys (the flag lives here, not in user_keys, because it
-- exists before the keys do).
ALTER TABLE users ADD COLUMN quota_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;

-- The user's key bundle (shared/vault, opaque), their root folder, and the
-- SHA-256 of the recovery key's proof of possession (never the proof itself).
CREATE TABLE user_keys (
    user_id        INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    bundle         BLOB    NOT NULL,
    root_folder    TEXT    NOT NULL,
    recovery_hash  BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- Files and folders. ids are chosen by the client (26 lowercase base32
-- characters). trashed_at is set on the node the user put in the trash;
-- in_trash on it and on everything below it, so "live" is one column.
-- A trashed node keeps its parent (to go back there); when that parent is
-- deleted for good, the parent becomes NULL and the node waits in the
-- trash for a new folder.
CREATE TABLE nodes (
    id              TEXT    PRIMARY KEY,
    owner           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    parent          TEXT    REFERENCES nodes(id) ON DELETE SET NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('folder', 'file')),
    name_hmac       BLOB    NOT NULL,
    meta            BLOB    NOT NULL,
    wrapped_key     BLOB,
    lock            BLOB,
    escrow          BLOB,
    mode            TEXT    NOT NULL CHECK (mode IN ('secure', 'standard')),
    favorite        INTEGER NOT NULL DEFAULT 0,
    keep_history    INTEGER NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    modified_at     INTEGER NOT NULL,
    current_version TEXT,
    trashed_at      INTEGER,
    in_trash        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
-- Names are unique among a folder's children, except those in the trash.
CREATE UNIQUE INDEX nodes_name ON nodes(parent, name_hmac) WHERE trashed_at IS NULL;
CREATE INDEX nodes_parent ON nodes(parent, id);
CREATE INDEX nodes_recent ON nodes(owner, modified_at) WHERE kind = 'file' AND in_trash = 0;
CREATE INDEX nodes_favorites ON nodes(owner) WHERE favorite = 1;
CREATE INDEX nodes_trash ON nodes(owner, trashed_at) WHERE trashed_at IS NOT NULL;

-- Contents of files. verify_cap is '' (and size 0) for a literal version,
-- whose content is inside its sealed metadata.
CREATE TABLE file_versions (
    id            TEXT    PRIMARY KEY,
    node          TEXT    NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    owner         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    verify_cap    TEXT    NOT NULL,
    storage_index TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    meta          BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    seq           INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX file_versions_node ON file_versions(node, seq);
CREATE INDEX file_versions_owner ON file_versions(owner);
CREATE INDEX file_versions_cap ON file_versions(verify_cap);

-- Upload sessions of the node's helper, owned by the user who began them.
-- size counts towards the user's quota from the beginning; verify_cap and
-- ueb are the finished result. A row goes when a version is made of it,
-- when it is abandoned (DELETE), or when it is left unused too long.
CREATE TABLE uploads (
    storage_index TEXT    PRIMARY KEY,
    owner         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    size          INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    verify_cap    TEXT,
    ueb           BLOB,
    finished_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX uploads_owner ON uploads(owner);

-- Per-user preferences for files; no row means the defaults.
CREATE TABLE file_settings (
    user_id           INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    default_mode      TEXT    NOT NULL DEFAULT 'secure',
    trash_days        INTEGER NOT NULL DEFAULT 30,
    upload_rate_limit INTEGER NOT NULL DEFAULT 0
);
