-- Sharing with users and groups of the node (docs/sharing-users.md).
-- Boxes and metadata are sealed by the owner's client; the node keeps them
-- as opaque BLOBs. Times are Unix milliseconds (UTC).

-- Groups an administrator manages. Names are unique up to ASCII case, like
-- user names.
CREATE TABLE groups (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members(user_id);

-- A share of one node (and its subtree) with a user (user_id) or a group
-- (group_id): exactly one is set. meta is the sealed LinkMeta. A share
-- goes with its node, its owner, its user or its group.
CREATE TABLE shares (
    id          TEXT    PRIMARY KEY,
    node        TEXT    NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    owner       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_id     INTEGER REFERENCES users(id) ON DELETE CASCADE,
    group_id    INTEGER REFERENCES groups(id) ON DELETE CASCADE,
    permission  TEXT    NOT NULL CHECK (permission IN ('read', 'write')),
    meta        BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    CHECK ((user_id IS NULL) != (group_id IS NULL))
) WITHOUT ROWID;
CREATE INDEX shares_node ON shares(node);
CREATE UNIQUE INDEX shares_user ON shares(node, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX shares_group ON shares(node, group_id) WHERE group_id IS NOT NULL;

-- Who has access through a share: one row per recipient holding a box (the
-- node's key sealed to their public key). Access is decided by these rows
-- alone: a group member removed from the group loses their row.
CREATE TABLE share_grantees (
    share      TEXT    NOT NULL REFERENCES shares(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    box        BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (share, user_id)
) WITHOUT ROWID;
CREATE INDEX share_grantees_user ON share_grantees(user_id);

-- A folder offered to another user, until accepted, declined or cancelled.
CREATE TABLE transfers (
    id         TEXT    PRIMARY KEY,
    node       TEXT    NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    from_user  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    to_user    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    box        BLOB    NOT NULL,
    meta       BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX transfers_to ON transfers(to_user);
CREATE INDEX transfers_from ON transfers(from_user);
CREATE UNIQUE INDEX transfers_node ON transfers(node);
