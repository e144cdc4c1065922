package api

import "time"

// Share links and file drops (docs/sharing.md). A link names one file or
// folder of its owner; whoever has the link's URL reads it without an
// account. The key that opens the target travels in the URL's fragment
// (`/s/ID#KEY`), which browsers never send: the node serves ciphertext and
// sealed metadata to anyone holding a valid link id, and never learns the
// key. A drop link names a folder into which anyone with the link uploads
// files encrypted to the owner's public key, without seeing the folder.
//
// Owner routes, under Prefix, with a session and CSRF like the Files API:
//
//	POST   links                  CreateLinkRequest -> Link (201)
//	GET    links                  -> []Link (every link of the user, newest first; removed ones are gone)
//	PATCH  links/{id}             UpdateLinkRequest -> Link
//	DELETE links/{id}             -> 204 (the link stops working at once; its id answers 410 link_removed)
//	POST   links/{id}/mail        MailLinkRequest -> 204 (503 mail_unconfigured without SMTP settings)
//	GET    drops?folder=ID        -> []DropFile (files dropped into the folder, not yet adopted)
//	DELETE drops/{id}             -> 204 (discard a dropped file)
//
// A dropped file becomes a node of the owner when the owner's client
// "adopts" it: POST nodes with Version.FromDrop = the drop file's id (its
// content moves into the new version; the drop file goes).
//
// Administrator routes:
//
//	GET    mail/settings          -> MailSettings (the password is never returned)
//	PUT    mail/settings          MailSettings -> MailSettings
//	POST   mail/test              MailTestRequest -> 204 (sends a test mail)
//
// Any signed-in user:
//
//	GET    mail                   -> MailStatus (whether the node can send mail)
//
// Recipient routes, no session needed (anyone with the link id), under
// Prefix+"public/links/{id}". Every route but the first two needs the
// access token of POST access, in header LinkTokenHeader:
//
//	GET    public/links/{id}                      -> PublicLink (410 link_removed | link_expired | link_exhausted; 404 not_found)
//	POST   public/links/{id}/access               AccessRequest -> Access (403 wrong_password, 429 throttled)
//	GET    .../nodes/{nid}/children?after=&limit=  -> Children (folder links: nid is the target or below it)
//	GET    .../versions/{vid}/proof               -> Proof (the current version of the target or of a file below it)
//	GET    .../versions/{vid}/content             ciphertext, with Range
//	POST   .../uploads/{si}                       BeginUploadRequest -> UploadStatus (drop links; limits checked here, before any byte)
//	PATCH  .../uploads/{si}                       ciphertext, Content-Range (as uploads/{si})
//	GET    .../uploads/{si}                       -> UploadStatus
//	DELETE .../uploads/{si}                       -> 204
//	POST   .../uploads/{si}/finish                FinishUploadRequest -> Uploaded
//	POST   .../files                              DropFileRequest -> 204 (drop links: the finished upload becomes a dropped file)
//
// Downloads: a link's Downloads counts the access tokens that fetched file
// content (a proof or a content range) at least once. When MaxDownloads is
// reached, tokens that have not fetched content yet are refused content
// (410 link_exhausted); those that have keep working until they expire, so
// a download in progress completes.

// LinkTokenHeader carries a link's access token (Access.Token).
const LinkTokenHeader = "X-Link-Token"

// Kinds of link.
const (
	LinkFile   = "file"
	LinkFolder = "folder"
	LinkDrop   = "drop"
)

// How a link's key reaches the recipient (Link.KeyMode).
const (
	// KeyInURL: the key is in the URL's fragment.
	KeyInURL = "fragment"
	// KeySeparate: the URL has no key; the recipient is given it another
	// way (or, for an item with its own password, types that password).
	KeySeparate = "none"
	// KeyPassword: the key is wrapped under a password the recipient types.
	KeyPassword = "password"
)

// Error codes of links.
const (
	CodeLinkRemoved     = "link_removed"   // 410: its owner deleted the link
	CodeLinkExpired     = "link_expired"   // 410: past its expiry date
	CodeLinkExhausted   = "link_exhausted" // 410: its download limit is reached
	CodeWrongPassword   = "wrong_link_password"
	CodeDropFull        = "drop_full"         // 413: a drop's file count or total size would be exceeded
	CodeFileTooLarge    = "file_too_large"    // 413: over a drop's per-file limit
	CodeMailUnavailable = "mail_unconfigured" // 503: the node has no SMTP settings
)

// Limits of links.
const (
	// MaxLinkMeta bounds a link's sealed LinkMeta.
	MaxLinkMeta = 4 << 10
	// LinkTokenTTL is how long an access token works.
	LinkTokenTTL = 12 * time.Hour
	// MaxMailRecipients bounds the addresses of one share mail.
	MaxMailRecipients = 20
)

// LinkPassword is a password link's key material (shared/vault): the KDF
// parameters and salt (Lock, public), the target's key wrapped under the
// password key (Wrapped, given out only after the password is proved), and
// SHA-256 of the password's proof (AuthHash; the node compares the proof
// a recipient sends against it and never sees the password).
type LinkPassword struct {
	Lock     []byte `json:"lock"`
	Wrapped  []byte `json:"wrapped,omitempty"`
	AuthHash []byte `json:"auth_hash,omitempty"`
}

// DropLimits are a drop link's criteria; 0 means no limit (the owner's
// quota still applies).
type DropLimits struct {
	MaxTotal int64 `json:"max_total,omitempty"` // bytes of ciphertext, all files together
	MaxFile  int64 `json:"max_file,omitempty"`  // bytes of ciphertext of one file
	MaxFiles int   `json:"max_files,omitempty"`
}

// DropUsage is what a drop link has received (finished files plus uploads
// in progress, which count from their first request).
type DropUsage struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// CreateLinkRequest makes a link to a file or folder of the user (Kind
// file or folder, matching the target's kind) or a drop into a folder
// (Kind drop). ID is chosen by the client like node ids: the link's
// sealed metadata is bound to it.
type CreateLinkRequest struct {
	ID     string `json:"id"`
	Target string `json:"target"`
	Kind   string `json:"kind"`
	// KeyMode is KeyInURL, KeySeparate or KeyPassword (with Password).
	// For a drop it is KeyInURL (nothing to hide: a drop holds no key)
	// or KeyPassword (uploaders must know a password; Wrapped is empty).
	KeyMode  string        `json:"key_mode"`
	Password *LinkPassword `json:"password,omitempty"`
	// Meta is the sealed LinkMeta (the target's name as shared), under
	// the target's meta key; empty for drops.
	Meta         []byte      `json:"meta,omitempty"`
	Expires      *time.Time  `json:"expires,omitempty"`
	MaxDownloads int         `json:"max_downloads,omitempty"`
	Drop         *DropLimits `json:"drop,omitempty"`
}

// Link is a link as its owner sees it.
type Link struct {
	ID           string      `json:"id"`
	Target       string      `json:"target"`
	Kind         string      `json:"kind"`
	KeyMode      string      `json:"key_mode"`
	Meta         []byte      `json:"meta,omitempty"`
	Created      time.Time   `json:"created"`
	Expires      *time.Time  `json:"expires,omitempty"`
	MaxDownloads int         `json:"max_downloads,omitempty"`
	Downloads    int         `json:"downloads"`
	Drop         *DropLimits `json:"drop,omitempty"`
	DropUsage    *DropUsage  `json:"drop_usage,omitempty"`
	// State is "active", or why it no longer works: CodeLinkExpired,
	// CodeLinkExhausted; TargetGone when the target was deleted or is
	// in the trash.
	State string `json:"state"`
}

// Link states besides the error codes.
const (
	LinkActive     = "active"
	LinkTargetGone = "target_gone"
)

// UpdateLinkRequest changes a link's expiry and limits; nil fields stay.
// ClearExpires removes the expiry; MaxDownloads 0 removes the limit. An
// expiry at or before now stops the link at once (it stays listed, and
// answers link_expired until the expiry is moved or cleared).
type UpdateLinkRequest struct {
	Expires      *time.Time  `json:"expires,omitempty"`
	ClearExpires bool        `json:"clear_expires,omitempty"`
	MaxDownloads *int        `json:"max_downloads,omitempty"`
	Drop         *DropLimits `json:"drop,omitempty"`
}

// MailLinkRequest sends a link by the node's SMTP settings. URL is the
// link's address WITHOUT its key (the node never sees keys: a URL with a
// fragment is refused); Message is the sender's own text. The mail says
// the key comes separately when the link needs one.
type MailLinkRequest struct {
	To      []string `json:"to"`
	URL     string   `json:"url"`
	Message string   `json:"message,omitempty"`
}

// MailStatus says whether the node can send mail (else the client offers
// a mailto: link, which the user's own mail program sends).
type MailStatus struct {
	Configured bool   `json:"configured"`
	From       string `json:"from,omitempty"`
}

// MailSettings are the node's SMTP settings (administrators). TLS is
// "starttls" (port 587), "tls" (implicit, port 465) or "none" (only for
// a relay on the same machine or a test sink). Password is write-only:
// answers leave it empty and set HasPassword; an empty Password in a PUT
// keeps the stored one unless ClearPassword.
type MailSettings struct {
	Host          string `json:"host"`
	Port          int    `json:"port"`
	TLS           string `json:"tls"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	HasPassword   bool   `json:"has_password,omitempty"`
	ClearPassword bool   `json:"clear_password,omitempty"`
	From          string `json:"from"`
}

// MailTestRequest sends a test mail to To.
type MailTestRequest struct {
	To string `json:"to"`
}

// PublicLink is what anyone with a link id learns before proving anything:
// its kind and how its key comes. The owner's name is shown on drop pages
// ("Send files to NAME").
type PublicLink struct {
	ID      string     `json:"id"`
	Kind    string     `json:"kind"`
	KeyMode string     `json:"key_mode"`
	Lock    []byte     `json:"lock,omitempty"` // KeyPassword: the KDF parameters and salt
	Expires *time.Time `json:"expires,omitempty"`
	Owner   string     `json:"owner,omitempty"` // drops only
	// Drops: the limits and what is left, and the owner's X25519 public
	// key the files are sealed to.
	Drop      *DropLimits `json:"drop,omitempty"`
	DropUsage *DropUsage  `json:"drop_usage,omitempty"`
	PublicKey []byte      `json:"public_key,omitempty"`
}

// AccessRequest opens a link. PasswordAuth is the proof derived from the
// password (KeyPassword links; shared/vault), nothing otherwise.
type AccessRequest struct {
	PasswordAuth []byte `json:"password_auth,omitempty"`
}

// Access is an opened link: the token for the other recipient routes and,
// for file and folder links, the target node (with its current version)
// and the sealed LinkMeta. Wrapped is the target's key under the password
// key (KeyPassword links).
type Access struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
	Node    *Node     `json:"node,omitempty"`
	Meta    []byte    `json:"meta,omitempty"`
	Wrapped []byte    `json:"wrapped,omitempty"`
}

// DropFileRequest turns a finished drop upload (or, for a file of at most
// 55 bytes, nothing: the content is in the sealed version metadata) into a
// dropped file. ID and Version.ID are chosen by the uploader. Box is the
// file's key sealed to the owner's public key (shared/vault); Meta is the
// file's FileMeta sealed under its own meta key; Version.Meta its
// VersionMeta, as for a node.
type DropFileRequest struct {
	ID      string         `json:"id"`
	Box     []byte         `json:"box"`
	Meta    []byte         `json:"meta"`
	Version NewVersionBody `json:"version"`
}

// DropFile is a dropped file waiting for its owner's client to adopt it
// into the folder.
type DropFile struct {
	ID      string    `json:"id"`
	Link    string    `json:"link"`
	Folder  string    `json:"folder"`
	Box     []byte    `json:"box"`
	Meta    []byte    `json:"meta"`
	Version Version   `json:"version"`
	Created time.Time `json:"created"`
}
