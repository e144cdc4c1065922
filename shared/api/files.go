package api

import "time"

// The Files API (docs/files.md). Everything the client sends about names and
// file contents is already encrypted ("sealed") or hashed; the node stores
// and returns it as opaque bytes ([]byte travels as base64 in JSON).
//
// Routes, all under Prefix, session and CSRF as for the rest of the API:
//
//	GET    keys                          -> Keys (404 no_keys: create them with PUT)
//	PUT    keys                          PutKeysRequest -> Keys: first creation (with the root folder), or a new recovery key
//	POST   keys/recover                  RecoverRequest (no session) -> RecoverResponse: lost password
//	POST   unlock                        UnlockRequest: the escrow key for standard items, held in memory for this session
//	GET    nodes/{id}                    -> NodeInfo (node and its ancestors up to the root, for breadcrumbs and key unwrapping)
//	GET    nodes/{id}/children?after=ID&limit=N -> Children
//	GET    nodes/{id}/child?name_hmac=B64URL     -> Node (the live child with that name HMAC; 404 not_found)
//	POST   nodes                         CreateNodeRequest -> Node (201); a copy is a create whose version reuses stored content (CopyOf)
//	PATCH  nodes/{id}                    UpdateNodeRequest -> Node (409 conflict: stale base_version; 409 name_taken)
//	DELETE nodes/{id}?base_version=V     -> Node (moved to the trash)
//	GET    nodes/{id}/versions           -> []Version (newest first)
//	POST   nodes/{id}/versions           NewVersionRequest -> Node (the new current version)
//	POST   nodes/{id}/versions/{vid}/restore  RestoreVersionRequest -> Node
//	DELETE nodes/{id}/versions/{vid}     -> 204
//	GET    trash                         -> []Node (trashed roots of subtrees)
//	POST   trash/{id}/restore            RestoreRequest -> Node
//	DELETE trash/{id}                    -> 204 (deleted forever)
//	POST   trash/empty                   -> 204
//	GET    recent?limit=N                -> []Node (files by modification, newest first)
//	GET    favorites                     -> []Node
//	GET    usage                         -> Usage
//	GET    settings, PUT settings        FileSettings
//	POST   uploads/{si}                  BeginUploadRequest -> UploadStatus (a helper session owned by the user)
//	PATCH  uploads/{si}                  ciphertext, Content-Range: bytes A-B/SIZE, Content-Type application/octet-stream -> UploadStatus
//	POST   uploads/{si}/finish           FinishUploadRequest -> Uploaded
//	GET    uploads/{si}                  -> UploadStatus;  DELETE uploads/{si} -> 204
//	GET    versions/{vid}/content        ciphertext, with Range
//	GET    versions/{vid}/proof          -> Proof

// Error codes of the Files API (docs/files.md, "The Files API"). A 409
// CodeConflict about a node carries the node's current state in Error.Node.
const (
	CodeNoKeys        = "no_keys"
	CodeNameTaken     = "name_taken"
	CodeQuotaExceeded = "quota_exceeded"
	CodeNoHelper      = "no_helper"
	CodeGrid          = "grid_unavailable"
	CodeRecovery      = "wrong_recovery_key"
	// CodeInTrash (409): the target folder, or the node itself, is in the
	// trash; restore it first.
	CodeInTrash = "in_trash"
	// CodeMustChangePassword (403): an account an administrator created
	// makes its keys only after its user chose their own password.
	CodeMustChangePassword = "must_change_password"
	// CodeRange (416): an upload chunk that lies beyond the upload's size
	// or leaves a gap after the bytes received.
	CodeRange = "range_not_satisfiable"
	// CodeIntegrity (422): the uploaded ciphertext does not match the
	// crypttext hash given at finish; the upload was discarded.
	CodeIntegrity = "integrity"
)

// Modes of an item (docs/files.md).
const (
	ModeSecure   = "secure"
	ModeStandard = "standard"
)

// Kinds of node.
const (
	KindFolder = "folder"
	KindFile   = "file"
)

// Keys is the user's key material as the node keeps it: shared/vault's
// encoded Bundle (opaque here), and the id of the root folder.
type Keys struct {
	Bundle       []byte `json:"bundle"`
	RootFolderID string `json:"root_folder_id"`
	// MustChangePassword is set for accounts an administrator created: the
	// initial password is known to the administrator, so keys are made only
	// after the user chose their own.
	MustChangePassword bool `json:"must_change_password,omitempty"`
}

// PutKeysRequest stores the bundle. The first time it also creates the root
// folder (RootFolder). Later, it replaces the bundle (a new recovery key);
// BaseBundle must then equal the stored one, so two devices cannot silently
// overwrite each other.
type PutKeysRequest struct {
	Bundle       []byte             `json:"bundle"`
	BaseBundle   []byte             `json:"base_bundle,omitempty"`
	RootFolder   *CreateNodeRequest `json:"root_folder,omitempty"`
	RecoveryAuth []byte             `json:"recovery_auth,omitempty"` // see RecoverRequest
}

// RecoverRequest starts over with a lost password. RecoveryAuth is derived
// from the recovery key (shared/vault) and proves the caller has it; the node
// keeps only a hash of it. With Bundle and NewPassword set, it also replaces
// the login password and the bundle (re-wrapped under the new password).
type RecoverRequest struct {
	Name         string `json:"name"`
	RecoveryAuth []byte `json:"recovery_auth"`
	NewPassword  string `json:"new_password,omitempty"`
	Bundle       []byte `json:"bundle,omitempty"`
}

// RecoverResponse gives the bundle to unwrap with the recovery key. When
// the request replaced the password, State is the new session, as sign-in
// answers it (every other session of the user has ended).
type RecoverResponse struct {
	Bundle []byte `json:"bundle"`
	State  *State `json:"state,omitempty"`
}

// UnlockRequest hands the node the escrow key for this session.
type UnlockRequest struct {
	EscrowKey []byte `json:"escrow_key"`
}

// Node is a file or folder as the node keeps it.
type Node struct {
	ID     string `json:"id"` // chosen by the client: 26 lowercase base32 characters (128 random bits)
	Parent string `json:"parent,omitempty"`
	Kind   string `json:"kind"`
	// NameHMAC is unique among a folder's children (docs/files.md).
	NameHMAC []byte `json:"name_hmac"`
	// Meta is the sealed FolderMeta or FileMeta (shared/vault).
	Meta []byte `json:"meta"`
	// WrappedKey is a folder's key wrapped under its parent's, or, for an
	// item with its own password, its key wrapped under that password.
	WrappedKey []byte `json:"wrapped_key,omitempty"`
	// Lock, when set, is the item's own password: salt and KDF parameters.
	Lock []byte `json:"lock,omitempty"`
	// Escrow is the item's key wrapped under the user's escrow key
	// (standard mode only).
	Escrow      []byte    `json:"escrow,omitempty"`
	Mode        string    `json:"mode"`
	Favorite    bool      `json:"favorite,omitempty"`
	KeepHistory bool      `json:"keep_history"` // folders: keep old versions of their files
	Version     int64     `json:"version"`      // change counter, for optimistic concurrency
	Created     time.Time `json:"created"`
	Modified    time.Time `json:"modified"`
	// Files: the current version and its ciphertext size.
	Current *Version `json:"current,omitempty"`
	Size    int64    `json:"size,omitempty"`
	// Trashed is set for items in the trash: on the item the user put
	// there (a "trashed root", which GET trash lists). InTrash is also set
	// on everything inside a trashed folder.
	Trashed *time.Time `json:"trashed,omitempty"`
	InTrash bool       `json:"in_trash,omitempty"`
}

// Version is one content of a file.
type Version struct {
	ID      string    `json:"id"` // chosen by the client, like node ids
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
	// Meta is the sealed VersionMeta (read cap, MIME, thumbnail).
	Meta []byte `json:"meta"`
	// VerifyCap names the stored ciphertext; it holds no key.
	VerifyCap string `json:"verify_cap"`
}

// NodeInfo is a node with its ancestors, root first.
type NodeInfo struct {
	Node      Node   `json:"node"`
	Ancestors []Node `json:"ancestors"`
}

// Children is one page of a folder's children.
type Children struct {
	Items []Node `json:"items"`
	// Next, if set, is the "after" of the next page.
	Next string `json:"next,omitempty"`
}

// CreateNodeRequest creates a folder, or a file with its first version.
type CreateNodeRequest struct {
	ID          string          `json:"id"`
	Parent      string          `json:"parent,omitempty"` // empty only for the root folder
	Kind        string          `json:"kind"`
	NameHMAC    []byte          `json:"name_hmac"`
	Meta        []byte          `json:"meta"`
	WrappedKey  []byte          `json:"wrapped_key,omitempty"`
	Lock        []byte          `json:"lock,omitempty"`
	Escrow      []byte          `json:"escrow,omitempty"`
	Mode        string          `json:"mode"`
	KeepHistory *bool           `json:"keep_history,omitempty"`
	Version     *NewVersionBody `json:"version,omitempty"` // files
}

// NewVersionBody is the content of a new file version and its sealed
// metadata. The content is either a finished upload of this user (the
// storage index of its helper session) or, for a copy, the content of an
// existing version of this user (CopyOf, a version id): copies are not
// uploaded again. Metadata is sealed to ids, so a copy is always made by the
// client, item by item, with new ids.
//
// With neither, the version is literal: a file of at most 55 bytes
// (chk.LiteralThreshold, empty files included) is not uploaded, its content
// travels inside the sealed Meta (as a LIT cap); the node records it with
// size 0 and no verify cap, and it has no content or proof route.
type NewVersionBody struct {
	ID           string `json:"id"`
	StorageIndex string `json:"storage_index,omitempty"`
	CopyOf       string `json:"copy_of,omitempty"`
	// FromDrop adopts a dropped file (api.DropFile id, into a folder of
	// this user): its content becomes this version and the drop file goes.
	FromDrop string `json:"from_drop,omitempty"`
	Meta     []byte `json:"meta"`
}

// UpdateNodeRequest changes a node; nil fields stay. BaseVersion must be the
// node's current version counter. A move sets Parent together with the
// NameHMAC, Meta and WrappedKey re-made for the new parent.
type UpdateNodeRequest struct {
	BaseVersion int64   `json:"base_version"`
	Parent      *string `json:"parent,omitempty"`
	NameHMAC    []byte  `json:"name_hmac,omitempty"`
	Meta        []byte  `json:"meta,omitempty"`
	WrappedKey  []byte  `json:"wrapped_key,omitempty"`
	Lock        []byte  `json:"lock,omitempty"`
	ClearLock   bool    `json:"clear_lock,omitempty"`
	Escrow      []byte  `json:"escrow,omitempty"`
	ClearEscrow bool    `json:"clear_escrow,omitempty"`
	Mode        *string `json:"mode,omitempty"`
	Favorite    *bool   `json:"favorite,omitempty"`
	KeepHistory *bool   `json:"keep_history,omitempty"`
}

// NewVersionRequest makes new content the current version of a file. With
// the folder's keep-history off, the previous version is deleted.
type NewVersionRequest struct {
	BaseVersion int64          `json:"base_version"`
	Version     NewVersionBody `json:"version"`
	Meta        []byte         `json:"meta,omitempty"` // the file's re-sealed FileMeta (new size, time)
}

// RestoreVersionRequest makes an old version current again (as a new
// version with the old content, so the history is kept).
type RestoreVersionRequest struct {
	BaseVersion int64  `json:"base_version"`
	NewID       string `json:"new_id"`
	Meta        []byte `json:"meta"`      // the new version's sealed VersionMeta
	NodeMeta    []byte `json:"node_meta"` // the file's re-sealed FileMeta
}

// RestoreRequest brings an item back from the trash, into its old folder,
// or into Parent (with names re-made for it) when that is gone or taken.
type RestoreRequest struct {
	Parent     string `json:"parent,omitempty"`
	NameHMAC   []byte `json:"name_hmac,omitempty"`
	Meta       []byte `json:"meta,omitempty"`
	WrappedKey []byte `json:"wrapped_key,omitempty"`
}

// Usage is the user's storage use (ciphertext bytes of every kept version,
// trash included, plus the declared sizes of the user's uploads not yet
// made into versions, which count from the moment they begin) and quota
// (0: none). Trash is the part of Used in the trash.
type Usage struct {
	Used  int64 `json:"used"`
	Quota int64 `json:"quota"`
	Trash int64 `json:"trash"`
}

// FileSettings are a user's preferences for files.
type FileSettings struct {
	DefaultMode     string `json:"default_mode"`
	TrashDays       int    `json:"trash_days"`        // emptied automatically after this many days (0: never)
	UploadRateLimit int    `json:"upload_rate_limit"` // KB/s, 0: unlimited
}

// BeginUploadRequest starts (or resumes) sending ciphertext to the node's helper.
type BeginUploadRequest struct {
	Size        int64 `json:"size"`
	K           int   `json:"k,omitempty"` // 0: the node's encoding
	Happy       int   `json:"happy,omitempty"`
	N           int   `json:"n,omitempty"`
	SegmentSize int64 `json:"segment_size,omitempty"`
}

// UploadStatus says how much ciphertext the node holds.
type UploadStatus struct {
	Received int64  `json:"received"`
	Size     int64  `json:"size"`
	State    string `json:"state"` // receiving, placing, stored
	// SegmentSize is the file's segment size, by which the crypttext hash
	// tree cuts the ciphertext (0: not known, e.g. a finished upload).
	SegmentSize int64 `json:"segment_size,omitempty"`
}

// FinishUploadRequest asks the helper to complete the upload. It names
// the ciphertext sent by exactly one of two hashes (32 bytes each): the
// UEB's crypttext_hash of the whole ciphertext, which the helper checks
// before it places the last bytes, or the UEB's crypttext_root_hash (the
// root of the segments' hash tree, by UploadStatus.SegmentSize), which it
// checks against the file it encoded. An uploader hashing with WebCrypto
// can only give the second: WebCrypto has no incremental SHA-256.
type FinishUploadRequest struct {
	CrypttextHash     []byte `json:"crypttext_hash,omitempty"`
	CrypttextRootHash []byte `json:"crypttext_root_hash,omitempty"`
}

// Uploaded is a finished upload: what the uploader needs to form the read
// cap (with its key) and to check the helper encoded its ciphertext.
type Uploaded struct {
	VerifyCap string `json:"verify_cap"`
	UEB       []byte `json:"ueb"`
}

// Proof lets a downloader check ciphertext the node serves: the UEB (whose
// hash is in the read cap) and every segment's crypttext hash (whose Merkle
// root is in the UEB).
type Proof struct {
	UEB           []byte `json:"ueb"`
	SegmentHashes []byte `json:"segment_hashes"` // 32 bytes each, in order
	SegmentSize   int64  `json:"segment_size"`
	Size          int64  `json:"size"`
}
