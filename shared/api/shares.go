package api

import "time"

// Sharing with users and groups of the same node (docs/sharing-users.md).
// A share gives another user (or every member of a group) one file or
// folder of its owner, and everything below it, read-only or read-write:
// the owner's client seals the item's key to each recipient's public key
// (a "box", shared/vault.SealTo with vault.ShareBoxContext(share id, node
// id)) and seals a LinkMeta (kind and name as shared) under the item's
// meta key in vault.ShareMetaSlot(share id). The node never sees a key.
//
// A recipient then uses the ordinary Files routes (nodes/{id},
// children, versions, content, proof; and with "write" the changing ones)
// on the owner's items inside the shared subtree; GET nodes/{id} gives
// ancestors only up to the topmost item shared with them. What the owner
// alone may do (trash, favourites, modes, item passwords, sharing) stays
// the owner's: 403 forbidden.
//
// Routes, under Prefix, with a session and CSRF like the Files API:
//
//	GET    recipients?name=NAME     -> Recipient (a user or a group, with the public keys to seal to)
//	POST   shares                   CreateShareRequest -> Share (201)
//	GET    shares?node=ID           -> []Share (the owner's shares of one item: who has access)
//	PATCH  shares/{id}              UpdateShareRequest -> Share (permission; boxes for group members added since)
//	POST   nodes/{id}/rekey         RekeyRequest -> Node: ends shares (Revoke) and re-keys the item, in one transaction
//	GET    shared                   -> []SharedItem (what others share with the user)
//	POST   transfers                CreateTransferRequest -> Transfer (201): offer a folder to another user
//	GET    transfers                -> []Transfer (offers made by and to the user)
//	POST   transfers/{id}/accept    AcceptTransferRequest -> Node (the folder, now the recipient's)
//	DELETE transfers/{id}           -> 204 (the sender cancels, or the recipient declines)
//
// Administrators:
//
//	GET    groups                   -> []Group
//	POST   groups                   CreateGroupRequest -> Group (201)
//	PATCH  groups/{id}              UpdateGroupRequest -> Group (add or remove members)
//	DELETE groups/{id}              -> 204 (its shares end)

// Permissions of a share.
const (
	PermRead  = "read"
	PermWrite = "write"
)

// Kinds of recipient.
const (
	RecipientUser  = "user"
	RecipientGroup = "group"
)

// Limits of shares.
const (
	// MaxShareMeta bounds a share's sealed LinkMeta.
	MaxShareMeta = 4 << 10
	// MaxBox bounds one sealed box (a 32-byte key: 81 bytes).
	MaxBox = 256
	// MaxGroupMembers bounds a group (and so the boxes of one share).
	MaxGroupMembers = 1000
)

// Member is a user as a share or a group names them. PublicKey is their
// X25519 public key from their key bundle (absent for a user who has not
// made keys yet: nothing can be sealed to them).
type Member struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	PublicKey []byte `json:"public_key,omitempty"`
}

// Recipient is whom a share is for: a user, or a group and its members.
type Recipient struct {
	Kind    string   `json:"kind"` // RecipientUser or RecipientGroup
	ID      int64    `json:"id"`   // the user's or the group's id
	Name    string   `json:"name"`
	Members []Member `json:"members"` // a user: themselves
}

// ShareBox is an item's key sealed to one user.
type ShareBox struct {
	UserID int64  `json:"user_id"`
	Box    []byte `json:"box"`
}

// CreateShareRequest shares Node (the owner's, not in the trash, without
// its own password) with a user (UserID) or a group (GroupID). ID is
// chosen by the client like node ids (the boxes and Meta are bound to it).
// Boxes hold one box per recipient with keys (the user; for a group every
// member with keys but the owner).
type CreateShareRequest struct {
	ID         string     `json:"id"`
	Node       string     `json:"node"`
	UserID     int64      `json:"user_id,omitempty"`
	GroupID    int64      `json:"group_id,omitempty"`
	Permission string     `json:"permission"`
	Meta       []byte     `json:"meta"`
	Boxes      []ShareBox `json:"boxes"`
}

// Share is a share as its owner sees it. Grantees have a box (they have
// access); Missing are group members with keys who joined after the
// boxes were made (the owner's client seals boxes to them: PATCH);
// members without keys are not listed.
type Share struct {
	ID         string    `json:"id"`
	Node       string    `json:"node"`
	Permission string    `json:"permission"`
	Meta       []byte    `json:"meta"`
	Created    time.Time `json:"created"`
	// Recipient: the user or the group the item is shared with.
	Kind     string   `json:"kind"` // RecipientUser or RecipientGroup
	To       int64    `json:"to"`   // the user's or the group's id
	ToName   string   `json:"to_name"`
	Grantees []Member `json:"grantees"`
	Missing  []Member `json:"missing,omitempty"`
}

// UpdateShareRequest changes a share's permission and/or adds boxes for
// group members who have none yet.
type UpdateShareRequest struct {
	Permission string     `json:"permission,omitempty"`
	Boxes      []ShareBox `json:"boxes,omitempty"`
}

// SharedItem is an item shared with the user: the item as the node keeps
// it, the box holding its key for this user, and the sealed LinkMeta
// (its name as shared) to open with that key.
type SharedItem struct {
	Share      string    `json:"share"`
	Node       Node      `json:"node"`
	Owner      string    `json:"owner"`
	Permission string    `json:"permission"`
	Group      string    `json:"group,omitempty"` // shared through this group
	Meta       []byte    `json:"meta"`
	Box        []byte    `json:"box"`
	Created    time.Time `json:"created"`
}

// RekeyRequest gives an item a new key: after a share ends, whoever had
// the old key must not read what comes next. Every blob made under the
// old key is re-made under the new one (docs/sharing-users.md,
// "Revoking"):
//
//   - WrappedKey, Meta: the item's new key wrapped under its folder's key,
//     and its FolderMeta/FileMeta re-sealed (under the folder, unchanged);
//   - Escrow: for a standard item, the new meta key under the escrow key;
//   - Versions (files): every VersionMeta re-sealed under the new key;
//   - Children (folders): every child, the trash included, with its name
//     HMAC and metadata re-made under the new key, and its key re-wrapped
//     (not for a child with its own password);
//   - Shares: every other share of the item, its LinkMeta re-sealed and a
//     new box for each grantee.
//
// The node refuses (409 conflict) a request that does not cover exactly
// what it holds: the client reloads and tries again. Revoke lists shares
// of the item to end in the same transaction.
type RekeyRequest struct {
	BaseVersion int64          `json:"base_version"`
	Revoke      []string       `json:"revoke,omitempty"`
	WrappedKey  []byte         `json:"wrapped_key"`
	Meta        []byte         `json:"meta"`
	Escrow      []byte         `json:"escrow,omitempty"`
	Versions    []RekeyVersion `json:"versions,omitempty"`
	Children    []RekeyChild   `json:"children,omitempty"`
	Shares      []RekeyedShare `json:"shares,omitempty"`
}

// RekeyVersion is a version's VersionMeta re-sealed under the new key.
type RekeyVersion struct {
	ID   string `json:"id"`
	Meta []byte `json:"meta"`
}

// RekeyChild is a child re-made under its folder's new key.
type RekeyChild struct {
	ID         string `json:"id"`
	NameHMAC   []byte `json:"name_hmac"`
	Meta       []byte `json:"meta"`
	WrappedKey []byte `json:"wrapped_key,omitempty"`
}

// RekeyedShare is a remaining share re-made for the new key.
type RekeyedShare struct {
	ID    string     `json:"id"`
	Meta  []byte     `json:"meta"`
	Boxes []ShareBox `json:"boxes"`
}

// Group is an administrator-managed set of users to share with.
type Group struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	Members []Member  `json:"members"`
	Created time.Time `json:"created"`
}

// CreateGroupRequest makes a group with members (user names).
type CreateGroupRequest struct {
	Name    string   `json:"name"`
	Members []string `json:"members,omitempty"`
}

// UpdateGroupRequest adds and removes members (user names). A removed
// member loses access to what is shared with the group at once.
type UpdateGroupRequest struct {
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

// CreateTransferRequest offers folder Node to user To: Box is the folder's
// key sealed to them (vault.ShareBoxContext(transfer id, node id)), Meta
// a LinkMeta under the folder's meta key (vault.ShareMetaSlot(transfer
// id)). ID is chosen by the client.
type CreateTransferRequest struct {
	ID   string `json:"id"`
	Node string `json:"node"`
	To   int64  `json:"to"`
	Box  []byte `json:"box"`
	Meta []byte `json:"meta"`
}

// Transfer is an offer of a folder, as its sender and its recipient see it.
type Transfer struct {
	ID       string    `json:"id"`
	Node     string    `json:"node"`
	From     string    `json:"from"`
	FromID   int64     `json:"from_id"`
	To       string    `json:"to"`
	ToID     int64     `json:"to_id"`
	Box      []byte    `json:"box,omitempty"` // to the recipient only
	Meta     []byte    `json:"meta"`
	Size     int64     `json:"size"` // bytes the recipient's quota takes on
	Created  time.Time `json:"created"`
	Incoming bool      `json:"incoming"`
}

// AcceptTransferRequest takes an offered folder into the recipient's
// folder Parent: its key wrapped under Parent's, its FolderMeta sealed
// there and its name HMAC, as for a move.
type AcceptTransferRequest struct {
	Parent     string `json:"parent"`
	NameHMAC   []byte `json:"name_hmac"`
	Meta       []byte `json:"meta"`
	WrappedKey []byte `json:"wrapped_key"`
}
