package files

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/communitycube/cube/server/auth"
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/vault"
)

// Share links (shared/api/links.go). A link names one live node of its
// owner; whoever knows its id reads the ciphertext and sealed metadata of
// that node and, for a folder, of everything below it that is not in the
// trash, and nothing else. The key is never here: it travels in the URL's
// fragment, or separately, or wrapped under a password whose proof the
// node checks (it keeps only the SHA-256 of the proof).
//
// Every recipient request is checked against the link's state, in this
// order: removed by its owner, target gone (deleted, in the trash, or no
// longer the owner's), expired, and, for a token that has not fetched
// content yet, the download limit.

// Limits of links.
const (
	// LinkTokenBytes is the entropy of an access token.
	LinkTokenBytes = 32
	// MaxLinkLock bounds a password link's lock (the KDF parameters and salt).
	MaxLinkLock = 256
	// Wrong passwords of a link are counted per client network (an IPv4
	// address, an IPv6 /64) and for the link as a whole. A network has
	// LinkFreePerNetwork free failures, the link LinkFreeFailures; each
	// further one blocks the password check (for that network, or for
	// everyone) for LinkFailDelay, doubling up to LinkMaxFailDelay. A day
	// without failures forgets them. The per-network count is what stops
	// a guesser; the link's is high so that one guesser cannot keep the
	// link's recipients out, yet bounds guessing from many networks.
	LinkFreePerNetwork = 5
	LinkFreeFailures   = 100
	LinkFailDelay      = 30 * time.Second
	LinkMaxFailDelay   = 15 * time.Minute
	linkFailForget     = 24 * time.Hour
)

// LinkError is a link that does not work (or not for this request); Code
// is one of the api link codes. Its message is shown to the recipient.
type LinkError struct {
	Code    string
	Message string
}

func (e *LinkError) Error() string { return e.Message }

// Errors of links. Their text is shown to the user.
var (
	ErrLinkNotFound  = errors.New("No such link: check the address you were given.")
	ErrLinkRemoved   = &LinkError{api.CodeLinkRemoved, "Its owner removed this link: it no longer works. Ask them for a new one."}
	ErrLinkTarget    = &LinkError{api.CodeLinkRemoved, "The owner deleted what this link shared, or moved it to the trash: the link no longer works."}
	ErrLinkExpired   = &LinkError{api.CodeLinkExpired, "This link has expired. Ask its owner for a new one."}
	ErrLinkExhausted = &LinkError{api.CodeLinkExhausted, "This link has reached its download limit. Ask its owner for a new one."}
	ErrLinkPassword  = &LinkError{api.CodeWrongPassword, "Wrong password for this link."}
	// ErrLinkToken: no token, or one that ended or belongs to another link.
	ErrLinkToken = errors.New("This access to the link has ended (or never began): open the link again.")
	// ErrLinkKind: a route the link's kind does not have.
	ErrLinkKind = errors.New("This link does not allow that.")
)

// LinkThrottledError refuses a password attempt while the link is blocked
// after too many wrong passwords.
type LinkThrottledError struct{ RetryAfter time.Duration }

func (e *LinkThrottledError) Error() string {
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	wait := fmt.Sprintf("%d seconds", s)
	if s >= 90 {
		wait = fmt.Sprintf("%d minutes", (s+59)/60)
	}
	return "Too many wrong passwords for this link. Try again in " + wait + "."
}

// link is a row of links.
type link struct {
	api.Link
	owner                   int64
	lock, wrapped, authHash []byte
	removed                 bool
	blockedUntil            int64 // unix ms: wrong passwords block the link until then
}

const linkCols = `id, owner, target, kind, key_mode, lock, wrapped, auth_hash, meta, created_at, expires_at,
	max_downloads, downloads, max_total, max_file, max_files, removed_at IS NOT NULL, blocked_until`

func scanLink(row interface{ Scan(...any) error }) (*link, error) {
	var l link
	var created int64
	var expires sql.NullInt64
	var maxTotal, maxFile int64
	var maxFiles int
	err := row.Scan(&l.ID, &l.owner, &l.Target, &l.Kind, &l.KeyMode, &l.lock, &l.wrapped, &l.authHash, &l.Meta, &created, &expires,
		&l.MaxDownloads, &l.Downloads, &maxTotal, &maxFile, &maxFiles, &l.removed, &l.blockedUntil)
	if err != nil {
		return nil, err
	}
	l.Created = fromMS(created)
	if expires.Valid {
		t := fromMS(expires.Int64)
		l.Expires = &t
	}
	if l.Kind == api.LinkDrop {
		l.Drop = &api.DropLimits{MaxTotal: maxTotal, MaxFile: maxFile, MaxFiles: maxFiles}
	}
	return &l, nil
}

// loadLink returns link id, removed or not, or ErrLinkNotFound.
func loadLink(ctx context.Context, q querier, id string) (*link, error) {
	if !ValidID(id) {
		return nil, ErrLinkNotFound
	}
	l, err := scanLink(q.QueryRowContext(ctx, `SELECT `+linkCols+` FROM links WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, ErrLinkNotFound
	}
	return l, err
}

// ownLink returns the user's link id (not removed), or ErrLinkNotFound.
func ownLink(ctx context.Context, q querier, uid int64, id string) (*link, error) {
	l, err := loadLink(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if l.owner != uid || l.removed {
		return nil, ErrLinkNotFound
	}
	return l, nil
}

// targetLive reports whether the link's target is still the owner's, of
// the kind the link names, and out of the trash.
func targetLive(ctx context.Context, q querier, l *link) (bool, error) {
	var kind string
	var owner int64
	var inTrash bool
	err := q.QueryRowContext(ctx, `SELECT kind, owner, in_trash FROM nodes WHERE id = ?`, l.Target).Scan(&kind, &owner, &inTrash)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	want := api.KindFolder
	if l.Kind == api.LinkFile {
		want = api.KindFile
	}
	return owner == l.owner && kind == want && !inTrash, nil
}

// checkLink returns why the link does not work now, or nil. counted says
// whether the caller's token already fetched content (it may then go on
// past the download limit).
func (s *Store) checkLink(ctx context.Context, q querier, l *link, counted bool) error {
	if l.removed {
		return ErrLinkRemoved
	}
	if ok, err := targetLive(ctx, q, l); err != nil {
		return err
	} else if !ok {
		return ErrLinkTarget
	}
	if l.Expires != nil && !s.now().Before(*l.Expires) {
		return ErrLinkExpired
	}
	if !counted && exhausted(l) {
		return ErrLinkExhausted
	}
	return nil
}

func exhausted(l *link) bool {
	return l.Kind != api.LinkDrop && l.MaxDownloads > 0 && l.Downloads >= l.MaxDownloads
}

// ownerView completes a link as its owner sees it: state and drop usage.
func (s *Store) ownerView(ctx context.Context, q querier, l *link) (api.Link, error) {
	out := l.Link
	out.State = api.LinkActive
	if err := s.checkLink(ctx, q, l, false); err != nil {
		var le *LinkError
		if !errors.As(err, &le) {
			return out, err
		}
		switch le {
		case ErrLinkTarget:
			out.State = api.LinkTargetGone
		default:
			out.State = le.Code
		}
	}
	if l.Kind == api.LinkDrop {
		u, err := dropUsage(ctx, q, l.ID)
		if err != nil {
			return out, err
		}
		out.DropUsage = &u
	}
	return out, nil
}

// ---- the owner's side

func checkLimits(maxDownloads int, d *api.DropLimits) error {
	if maxDownloads < 0 {
		return invalid("max_downloads", "max_downloads cannot be negative (0: no limit).")
	}
	if d != nil && (d.MaxTotal < 0 || d.MaxFile < 0 || d.MaxFiles < 0) {
		return invalid("drop", "A drop's limits cannot be negative (0: no limit).")
	}
	return nil
}

// CreateLink makes a link to one of the user's live nodes, or a drop into
// one of their live folders.
func (s *Store) CreateLink(ctx context.Context, uid int64, req api.CreateLinkRequest) (api.Link, error) {
	if err := checkID("id", req.ID); err != nil {
		return api.Link{}, err
	}
	if err := checkID("target", req.Target); err != nil {
		return api.Link{}, err
	}
	switch req.Kind {
	case api.LinkFile, api.LinkFolder:
		if req.Drop != nil {
			return api.Link{}, invalid("drop", "Only a drop link has drop limits.")
		}
		if err := checkBlob("meta", req.Meta, 1, api.MaxLinkMeta); err != nil {
			return api.Link{}, err
		}
	case api.LinkDrop:
		if len(req.Meta) > 0 {
			return api.Link{}, invalid("meta", "A drop link has no metadata: it shows nothing of the folder.")
		}
		if req.MaxDownloads != 0 {
			return api.Link{}, invalid("max_downloads", "A drop link has no download limit; limit its files with drop.")
		}
		if req.KeyMode == api.KeySeparate {
			return api.Link{}, invalid("key_mode", "A drop link holds no key: its key mode is %q or %q.", api.KeyInURL, api.KeyPassword)
		}
	default:
		return api.Link{}, invalid("kind", "kind must be %q, %q or %q.", api.LinkFile, api.LinkFolder, api.LinkDrop)
	}
	var lock, wrapped, authHash []byte
	switch req.KeyMode {
	case api.KeyInURL, api.KeySeparate:
		if req.Password != nil {
			return api.Link{}, invalid("password", "Only a password link (key_mode %q) has password material.", api.KeyPassword)
		}
	case api.KeyPassword:
		p := req.Password
		if p == nil {
			return api.Link{}, invalid("password", "A password link needs its password material (lock, auth_hash and, but for a drop, wrapped).")
		}
		if err := checkBlob("password.lock", p.Lock, 1, MaxLinkLock); err != nil {
			return api.Link{}, err
		}
		if err := checkBlob("password.auth_hash", p.AuthHash, sha256.Size, sha256.Size); err != nil {
			return api.Link{}, err
		}
		if req.Kind == api.LinkDrop {
			if len(p.Wrapped) > 0 {
				return api.Link{}, invalid("password.wrapped", "A drop link carries no key: leave wrapped empty.")
			}
		} else if err := checkBlob("password.wrapped", p.Wrapped, 1, MaxWrapped); err != nil {
			return api.Link{}, err
		}
		lock, wrapped, authHash = p.Lock, p.Wrapped, p.AuthHash
	default:
		return api.Link{}, invalid("key_mode", "key_mode must be %q, %q or %q.", api.KeyInURL, api.KeySeparate, api.KeyPassword)
	}
	if err := checkLimits(req.MaxDownloads, req.Drop); err != nil {
		return api.Link{}, err
	}
	if req.Expires != nil && !req.Expires.After(s.now()) {
		return api.Link{}, invalid("expires", "The expiry date is in the past.")
	}
	var d api.DropLimits
	if req.Drop != nil {
		d = *req.Drop
	}
	var out api.Link
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n, err := s.load(ctx, tx, uid, req.Target)
		if err != nil {
			return err
		}
		if n.inTrash {
			return ErrInTrash
		}
		if (req.Kind == api.LinkFile) != (n.Kind == api.KindFile) {
			if req.Kind == api.LinkDrop {
				return invalid("kind", "Files are dropped into a folder: a drop link's target must be a folder.")
			}
			return invalid("kind", "The link's kind (%s) does not match its target, a %s.", req.Kind, n.Kind)
		}
		var one int
		switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM links WHERE id = ?`, req.ID).Scan(&one); {
		case err == nil:
			return ErrIDTaken
		case err != sql.ErrNoRows:
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO links(id, owner, target, kind, key_mode, lock, wrapped, auth_hash, meta, created_at,
				expires_at, max_downloads, max_total, max_file, max_files)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			req.ID, uid, req.Target, req.Kind, req.KeyMode, nullBytes(lock), nullBytes(wrapped), nullBytes(authHash), nullBytes(req.Meta),
			s.nowMS(), msOrNil(req.Expires), req.MaxDownloads, d.MaxTotal, d.MaxFile, d.MaxFiles)
		if err != nil {
			return err
		}
		l, err := loadLink(ctx, tx, req.ID)
		if err != nil {
			return err
		}
		out, err = s.ownerView(ctx, tx, l)
		return err
	})
	return out, err
}

func msOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// Links lists the user's links that are not removed, newest first.
func (s *Store) Links(ctx context.Context, uid int64) ([]api.Link, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+linkCols+` FROM links WHERE owner = ? AND removed_at IS NULL
		ORDER BY created_at DESC, id`, uid)
	if err != nil {
		return nil, err
	}
	var ls []*link
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ls = append(ls, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]api.Link, 0, len(ls))
	for _, l := range ls {
		v, err := s.ownerView(ctx, s.DB, l)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// GetLink returns one of the user's links (not removed).
func (s *Store) GetLink(ctx context.Context, uid int64, id string) (api.Link, error) {
	l, err := ownLink(ctx, s.DB, uid, id)
	if err != nil {
		return api.Link{}, err
	}
	return s.ownerView(ctx, s.DB, l)
}

// UpdateLink changes a link's expiry and limits.
func (s *Store) UpdateLink(ctx context.Context, uid int64, id string, req api.UpdateLinkRequest) (api.Link, error) {
	if req.Expires != nil && req.ClearExpires {
		return api.Link{}, invalid("expires", "Set an expiry or clear it, not both.")
	}
	md := 0
	if req.MaxDownloads != nil {
		md = *req.MaxDownloads
	}
	if err := checkLimits(md, req.Drop); err != nil {
		return api.Link{}, err
	}
	// An expiry at or before now is allowed here, unlike at creation: it is
	// the owner's "stop this link now, but keep it listed" (the link then
	// answers link_expired until the owner moves the date again).
	var out api.Link
	err := s.tx(ctx, func(tx *sql.Tx) error {
		l, err := ownLink(ctx, tx, uid, id)
		if err != nil {
			return err
		}
		if l.Kind == api.LinkDrop && req.MaxDownloads != nil && *req.MaxDownloads != 0 {
			return invalid("max_downloads", "A drop link has no download limit; limit its files with drop.")
		}
		if l.Kind != api.LinkDrop && req.Drop != nil {
			return invalid("drop", "Only a drop link has drop limits.")
		}
		switch {
		case req.ClearExpires:
			_, err = tx.ExecContext(ctx, `UPDATE links SET expires_at = NULL WHERE id = ?`, id)
		case req.Expires != nil:
			_, err = tx.ExecContext(ctx, `UPDATE links SET expires_at = ? WHERE id = ?`, req.Expires.UnixMilli(), id)
		}
		if err != nil {
			return err
		}
		if req.MaxDownloads != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE links SET max_downloads = ? WHERE id = ?`, *req.MaxDownloads, id); err != nil {
				return err
			}
		}
		if d := req.Drop; d != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE links SET max_total = ?, max_file = ?, max_files = ? WHERE id = ?`,
				d.MaxTotal, d.MaxFile, d.MaxFiles, id); err != nil {
				return err
			}
		}
		if l, err = loadLink(ctx, tx, id); err != nil {
			return err
		}
		out, err = s.ownerView(ctx, tx, l)
		return err
	})
	return out, err
}

// DeleteLink removes a link: it stops working at once, its tokens end, and
// its id answers "removed" from now on. Its drop uploads in progress are
// forgotten (their room in the quota too); dropped files stay for the
// owner to adopt or discard.
func (s *Store) DeleteLink(ctx context.Context, uid int64, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := ownLink(ctx, tx, uid, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE links SET removed_at = ?, meta = NULL, lock = NULL, wrapped = NULL, auth_hash = NULL
			WHERE id = ?`, s.nowMS(), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM link_tokens WHERE link = ?`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM uploads WHERE link = ?`, id)
		return err
	})
}

// ---- the recipient's side

// PublicLink says what anyone with the link id may know of it.
func (s *Store) PublicLink(ctx context.Context, id string) (api.PublicLink, error) {
	l, err := loadLink(ctx, s.DB, id)
	if err != nil {
		return api.PublicLink{}, err
	}
	if err := s.checkLink(ctx, s.DB, l, false); err != nil {
		return api.PublicLink{}, err
	}
	out := api.PublicLink{ID: l.ID, Kind: l.Kind, KeyMode: l.KeyMode, Expires: l.Expires}
	if l.KeyMode == api.KeyPassword {
		out.Lock = l.lock
	}
	if l.Kind == api.LinkDrop {
		if err := s.DB.QueryRowContext(ctx, `SELECT name FROM users WHERE id = ?`, l.owner).Scan(&out.Owner); err != nil {
			return out, err
		}
		u, err := dropUsage(ctx, s.DB, l.ID)
		if err != nil {
			return out, err
		}
		out.Drop, out.DropUsage = l.Drop, &u
		var bundle []byte
		if err := s.DB.QueryRowContext(ctx, `SELECT bundle FROM user_keys WHERE user_id = ?`, l.owner).Scan(&bundle); err != nil && err != sql.ErrNoRows {
			return out, err
		}
		// The public key is in clear in the bundle; a bundle the node
		// cannot read leaves it out, and the drop page says it cannot
		// encrypt.
		if b, err := vault.ParseBundle(bundle); err == nil {
			out.PublicKey = b.PublicKey
		} else {
			s.Log.Warn("a drop link's owner has no readable key bundle", "link", l.ID, "err", err)
		}
	}
	return out, nil
}

// OpenLink checks a link (and, for a password link, the password's proof)
// and issues an access token for the other recipient routes. Wrong
// passwords are throttled per client network of remote (the caller's
// address, host:port) and per link.
func (s *Store) OpenLink(ctx context.Context, id, remote string, req api.AccessRequest) (api.Access, error) {
	l, err := loadLink(ctx, s.DB, id)
	if err != nil {
		return api.Access{}, err
	}
	if err := s.checkLink(ctx, s.DB, l, false); err != nil {
		return api.Access{}, err
	}
	if l.KeyMode == api.KeyPassword {
		// A blocked link does not even look at the proof, so a guesser
		// learns nothing while blocked.
		network := auth.NetworkKey(remote)
		netBlocked, err := s.linkNetworkBlocked(ctx, id, network)
		if err != nil {
			return api.Access{}, err
		}
		now := s.now()
		if until := time.UnixMilli(max(l.blockedUntil, netBlocked)); until.After(now) {
			return api.Access{}, &LinkThrottledError{RetryAfter: until.Sub(now)}
		}
		h := sha256.Sum256(req.PasswordAuth)
		if len(req.PasswordAuth) == 0 || subtle.ConstantTimeCompare(h[:], l.authHash) != 1 {
			if err := s.linkFailure(ctx, id, network); err != nil {
				return api.Access{}, err
			}
			return api.Access{}, ErrLinkPassword
		}
		// The right password forgives this network its misses (not the
		// link's count, which only time forgets).
		if _, err := s.DB.ExecContext(ctx, `DELETE FROM link_failures WHERE link = ? AND network = ?`, id, network); err != nil {
			return api.Access{}, err
		}
	} else if len(req.PasswordAuth) > 0 {
		return api.Access{}, invalid("password_auth", "This link has no password.")
	}
	raw := make([]byte, LinkTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return api.Access{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	th := sha256.Sum256([]byte(token))
	expires := s.now().Add(api.LinkTokenTTL)
	out := api.Access{Token: token, Expires: expires.UTC()}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// Re-read in the transaction: the owner may have removed it meanwhile.
		l, err := loadLink(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.checkLink(ctx, tx, l, false); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO link_tokens(token_hash, link, created_at, expires_at) VALUES(?, ?, ?, ?)`,
			th[:], id, s.nowMS(), expires.UnixMilli()); err != nil {
			return err
		}
		if l.Kind == api.LinkDrop {
			return nil
		}
		n, err := scanNode(tx.QueryRowContext(ctx, `SELECT `+nodeCols+nodeFrom+`WHERE n.id = ?`, l.Target))
		if err != nil {
			return err
		}
		if isLiteral(&n.Node) {
			// The file's content is in the metadata this answer carries.
			if err := countToken(ctx, tx, id, th); err != nil {
				return err
			}
		}
		pub := publicNode(n)
		pub.Parent = "" // nothing above the target is shared
		out.Node, out.Meta = &pub, l.Meta
		if l.KeyMode == api.KeyPassword {
			out.Wrapped = l.wrapped
		}
		return nil
	})
	if err != nil {
		return api.Access{}, err
	}
	return out, nil
}

// linkNetworkBlocked returns until when (unix ms) network may not try
// link id's password; 0 if it may.
func (s *Store) linkNetworkBlocked(ctx context.Context, id, network string) (int64, error) {
	var until int64
	err := s.DB.QueryRowContext(ctx, `SELECT blocked_until FROM link_failures WHERE link = ? AND network = ?`, id, network).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return until, err
}

// linkFailure counts a wrong password of link id from network, for the
// network and for the link, blocking either's password check once its free
// failures are spent.
func (s *Store) linkFailure(ctx context.Context, id, network string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := s.nowMS()
		var failures, last int64
		if err := tx.QueryRowContext(ctx, `SELECT failures, last_failure FROM links WHERE id = ?`, id).Scan(&failures, &last); err != nil {
			return err
		}
		failures, blocked := countFailure(failures, last, now, LinkFreeFailures)
		if _, err := tx.ExecContext(ctx, `UPDATE links SET failures = ?, last_failure = ?, blocked_until = ? WHERE id = ?`, failures, now, blocked, id); err != nil {
			return err
		}
		failures, last = 0, 0
		err := tx.QueryRowContext(ctx, `SELECT failures, last_failure FROM link_failures WHERE link = ? AND network = ?`, id, network).Scan(&failures, &last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		failures, blocked = countFailure(failures, last, now, LinkFreePerNetwork)
		_, err = tx.ExecContext(ctx, `INSERT INTO link_failures(link, network, failures, last_failure, blocked_until) VALUES(?, ?, ?, ?, ?)
			ON CONFLICT(link, network) DO UPDATE SET failures = excluded.failures, last_failure = excluded.last_failure, blocked_until = excluded.blocked_until`,
			id, network, failures, now, blocked)
		return err
	})
}

// linkThrottle is the doubling of LinkFailDelay up to LinkMaxFailDelay.
var linkThrottle = auth.ThrottlePolicy{Delay: LinkFailDelay, MaxDelay: LinkMaxFailDelay, Forget: linkFailForget}

// countFailure adds a failure at now (unix ms) to a count whose last
// failure was at last, and returns the new count and until when it blocks
// (0: not blocked; auth.ThrottlePolicy.Block).
func countFailure(failures, last, now int64, free int64) (int64, int64) {
	if now-last > linkFailForget.Milliseconds() {
		failures = 0
	}
	failures++
	d := linkThrottle.Block(failures, free)
	if d == 0 {
		return failures, 0
	}
	return failures, now + d.Milliseconds()
}

// forgetLinkFailures drops the per-network counts a day old
// (housekeeping; a count that old is reset when next used anyway).
func (s *Store) forgetLinkFailures(ctx context.Context) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM link_failures WHERE last_failure < ?`, s.nowMS()-linkFailForget.Milliseconds())
	return err
}

// publicNode is a node as a link's recipient sees it: without what only
// its owner uses (the escrow-wrapped key, the favourite mark).
func publicNode(n *node) api.Node {
	out := n.Node
	out.Escrow, out.Favorite = nil, false
	return out
}

// tokenLink returns link id for a recipient holding token, with whether
// the token has been counted, after checking that the link works for it.
func (s *Store) tokenLink(ctx context.Context, q querier, id, token string) (*link, bool, error) {
	l, err := loadLink(ctx, q, id)
	if err != nil {
		return nil, false, err
	}
	if l.removed { // before the token: a removed link says so to everyone
		return nil, false, ErrLinkRemoved
	}
	if token == "" {
		return nil, false, ErrLinkToken
	}
	th := sha256.Sum256([]byte(token))
	var tl string
	var expires int64
	var counted bool
	err = q.QueryRowContext(ctx, `SELECT link, expires_at, counted FROM link_tokens WHERE token_hash = ?`, th[:]).Scan(&tl, &expires, &counted)
	if err == sql.ErrNoRows || err == nil && (tl != id || expires <= s.nowMS()) {
		return nil, false, ErrLinkToken
	}
	if err != nil {
		return nil, false, err
	}
	if err := s.checkLink(ctx, q, l, counted); err != nil {
		return nil, false, err
	}
	return l, counted, nil
}

// forgetExpiredLinkTokens deletes the access tokens past their expiry
// (housekeeping; a token is checked against its expiry when used).
func (s *Store) forgetExpiredLinkTokens(ctx context.Context) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM link_tokens WHERE expires_at < ?`, s.nowMS())
	return err
}

// inTarget loads node nid if it is the link's target or below it, live
// and the link owner's; otherwise ErrNotFound (nothing outside the subtree
// is revealed).
func inTarget(ctx context.Context, q querier, l *link, nid string) (*node, error) {
	if !ValidID(nid) {
		return nil, ErrNotFound
	}
	n, err := scanNode(q.QueryRowContext(ctx, `SELECT `+nodeCols+nodeFrom+`WHERE n.id = ?`, nid))
	if err == sql.ErrNoRows {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if n.owner != l.owner || n.inTrash {
		return nil, ErrNotFound
	}
	if nid == l.Target {
		return n, nil
	}
	if l.Kind != api.LinkFolder {
		return nil, ErrNotFound
	}
	up, err := ancestors(ctx, q, nid)
	if err != nil {
		return nil, err
	}
	for _, a := range up {
		if a == l.Target {
			return n, nil
		}
	}
	return nil, ErrNotFound
}

// LinkChildren lists the children of folder nid, the target of a folder
// link or a folder below it, a page at a time (as Children).
func (s *Store) LinkChildren(ctx context.Context, id, token, nid, after string, limit int) (api.Children, error) {
	l, counted, err := s.tokenLink(ctx, s.DB, id, token)
	if err != nil {
		return api.Children{}, err
	}
	if l.Kind != api.LinkFolder {
		return api.Children{}, ErrLinkKind
	}
	p, err := inTarget(ctx, s.DB, l, nid)
	if err != nil {
		return api.Children{}, err
	}
	if !p.isFolder() {
		return api.Children{}, invalid("id", "A file has no children.")
	}
	if limit <= 0 {
		limit = DefaultChildren
	}
	limit = min(limit, MaxChildren)
	items, full, err := s.page(ctx, s.DB, `WHERE n.parent = ? AND n.in_trash = 0 AND n.id > ? ORDER BY n.id LIMIT ?`, nid, after, limit+1)
	if err != nil {
		return api.Children{}, err
	}
	out := api.Children{Items: items}
	if len(items) > limit {
		out.Items, full = items[:limit], true
	}
	literal := false
	for i := range out.Items {
		out.Items[i].Escrow, out.Items[i].Favorite = nil, false
		literal = literal || isLiteral(&out.Items[i])
	}
	if literal && !counted {
		// A page with a small file's content in it: the token has
		// fetched content, as if it had read a range of a larger one.
		if err := s.countLinkToken(ctx, id, token); err != nil {
			return api.Children{}, err
		}
	}
	if full {
		out.Next = out.Items[len(out.Items)-1].ID
	}
	return out, nil
}

// LinkVersionCap returns the verify cap of vid, which must be the current
// version of the link's target file or of a file below its target folder,
// for its proof or content. The first time a token fetches content it is
// counted in the link's downloads; once the limit is reached, uncounted
// tokens get ErrLinkExhausted. A literal version has no content (ok false,
// nothing counted).
func (s *Store) LinkVersionCap(ctx context.Context, id, token, vid string) (v cap.Verifier, ok bool, err error) {
	// A download makes many range requests: only a token's first one
	// needs a write transaction.
	v, ok, counted, err := s.linkVersion(ctx, s.DB, id, token, vid)
	if err != nil || !ok || counted {
		return v, ok, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if v, ok, counted, err = s.linkVersion(ctx, tx, id, token, vid); err != nil || counted {
			return err
		}
		return countToken(ctx, tx, id, sha256.Sum256([]byte(token)))
	})
	return v, ok, err
}

// countLinkToken counts token's first fetch of content in link id's
// downloads, unless it was counted meanwhile; an uncounted token of a link
// that reached its limit meanwhile gets ErrLinkExhausted.
func (s *Store) countLinkToken(ctx context.Context, id, token string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, counted, err := s.tokenLink(ctx, tx, id, token)
		if err != nil || counted {
			return err
		}
		return countToken(ctx, tx, id, sha256.Sum256([]byte(token)))
	})
}

// countToken marks the token with hash th as counted and adds one download
// to link id (in the caller's transaction, which checked the link).
func countToken(ctx context.Context, tx *sql.Tx, id string, th [32]byte) error {
	if _, err := tx.ExecContext(ctx, `UPDATE link_tokens SET counted = 1 WHERE token_hash = ?`, th[:]); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE links SET downloads = downloads + 1 WHERE id = ?`, id)
	return err
}

// linkVersion finds vid for LinkVersionCap, with whether the token was
// counted already.
func (s *Store) linkVersion(ctx context.Context, q querier, id, token, vid string) (v cap.Verifier, ok, counted bool, err error) {
	l, counted, err := s.tokenLink(ctx, q, id, token)
	if err != nil {
		return v, false, false, err
	}
	if l.Kind == api.LinkDrop {
		return v, false, false, ErrLinkKind
	}
	if !ValidID(vid) {
		return v, false, false, ErrVersionNotFound
	}
	var nid, vc string
	err = q.QueryRowContext(ctx, `SELECT n.id, v.verify_cap FROM nodes n JOIN file_versions v ON v.id = n.current_version
		WHERE v.id = ? AND n.kind = 'file'`, vid).Scan(&nid, &vc)
	if err == sql.ErrNoRows {
		return v, false, false, ErrVersionNotFound
	}
	if err != nil {
		return v, false, false, err
	}
	if _, err := inTarget(ctx, q, l, nid); errors.Is(err, ErrNotFound) {
		return v, false, false, ErrVersionNotFound
	} else if err != nil {
		return v, false, false, err
	}
	if vc == "" {
		return v, false, counted, nil
	}
	if v, err = cap.ParseVerifier(vc); err != nil {
		return v, false, false, err
	}
	return v, true, counted, nil
}

// OwnLiveLink returns one of the user's links that works now (to mail it).
func (s *Store) OwnLiveLink(ctx context.Context, uid int64, id string) (api.Link, error) {
	l, err := ownLink(ctx, s.DB, uid, id)
	if err != nil {
		return api.Link{}, err
	}
	if err := s.checkLink(ctx, s.DB, l, false); err != nil {
		return api.Link{}, err
	}
	return s.ownerView(ctx, s.DB, l)
}
