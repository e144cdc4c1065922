package drive

// Share links and drops, the owner's side (docs/sharing.md; formats in
// docs/spec/keys.md §11). A link hands out the target's own node key: in
// the URL's fragment, separately, or wrapped under a password. The node
// keeps the link's row and its sealed LinkMeta (the name as shared), never
// the key.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/vault"
)

// LinkOptions choose how a file or folder link is made.
type LinkOptions struct {
	KeyMode      string    // api.KeyInURL (also ""), api.KeySeparate, api.KeyPassword
	Password     string    // for KeyPassword
	Expires      time.Time // zero: never
	MaxDownloads int       // 0: no limit
}

// DropOptions choose how a drop link is made.
type DropOptions struct {
	Password string // "": anyone with the link may upload
	Expires  time.Time
	Limits   api.DropLimits
}

// Link is a link as its owner sees it, with what the owner's keys open.
type Link struct {
	api.Link
	Name string // the target's name as shared ("" if unreadable)
	Key  string // the link key text (vault.FormatLinkKey of the target's node key); "" for drops
}

// ShareURL is a link's address: base + "/s/" + id, and "#" + key when key
// is given. The fragment is never sent to the node by browsers.
func ShareURL(base, id, key string) string {
	u := strings.TrimRight(base, "/") + "/s/" + id
	if key != "" {
		u += "#" + key
	}
	return u
}

// URL is the link's address on the node at base, with the key in the
// fragment only when the link's key mode puts it there.
func (l Link) URL(base string) string {
	if l.KeyMode == api.KeyInURL || l.KeyMode == "" {
		return ShareURL(base, l.ID, l.Key)
	}
	return ShareURL(base, l.ID, "")
}

// ErrLinkPasswordEmpty: a password link (or drop) was asked for without a password.
var ErrLinkPasswordEmpty = errors.New("A password link needs a password.")

// CreateLink makes a link to a file or folder of the user. The item must
// be open in this Drive (an item with its own password: UnlockItem first).
func (d *Drive) CreateLink(ctx context.Context, itemID string, o LinkOptions) (Link, error) {
	mode := o.KeyMode
	if mode == "" {
		mode = api.KeyInURL
	}
	if mode != api.KeyInURL && mode != api.KeySeparate && mode != api.KeyPassword {
		return Link{}, fmt.Errorf("drive: unknown key mode %q", o.KeyMode)
	}
	if mode == api.KeyPassword && o.Password == "" {
		return Link{}, ErrLinkPasswordEmpty
	}
	if mode != api.KeyPassword && o.Password != "" {
		// Refused rather than ignored: the user meant the link to need it.
		return Link{}, errors.New("drive: a link password is given but the key mode is not api.KeyPassword")
	}
	n, err := d.node(ctx, itemID)
	if err != nil {
		return Link{}, err
	}
	if n.Parent == "" {
		return Link{}, errors.New("The top folder cannot be shared by a link: share a folder in it.")
	}
	it, err := d.item(ctx, n)
	if err != nil {
		return Link{}, err
	}
	if it.NeedsPassword {
		return Link{}, ErrNeedsPassword
	}
	key, err := d.keyOf(ctx, itemID)
	if err != nil {
		return Link{}, err
	}
	kind := api.LinkFile
	if it.Folder {
		kind = api.LinkFolder
	}
	id := NewID()
	lm := vault.LinkMeta{Kind: n.Kind, Name: it.Name}
	plain, err := lm.Marshal()
	if err != nil {
		return Link{}, err
	}
	meta, err := vault.SealMeta(key.MetaKey(), vault.LinkMetaSlot(id), plain)
	if err != nil {
		return Link{}, err
	}
	req := api.CreateLinkRequest{ID: id, Target: itemID, Kind: kind, KeyMode: mode, Meta: meta,
		Expires: timePtr(o.Expires), MaxDownloads: o.MaxDownloads}
	if mode == api.KeyPassword {
		lp, err := vault.ProtectLink(&key, id, o.Password, KDFParams)
		if err != nil {
			return Link{}, err
		}
		req.Password = &api.LinkPassword{Lock: lp.Lock, Wrapped: lp.Wrapped, AuthHash: lp.AuthHash}
	}
	l, err := d.c.CreateLink(ctx, req)
	if err != nil {
		return Link{}, err
	}
	return Link{Link: l, Name: it.Name, Key: vault.FormatLinkKey(key)}, nil
}

// CreateDrop makes a drop link into a folder of the user: anyone with the
// link (and the password, if set) uploads files sealed to the user's
// public key; they appear in the folder when it is next listed.
func (d *Drive) CreateDrop(ctx context.Context, folderID string, o DropOptions) (Link, error) {
	it, _, err := d.Item(ctx, folderID)
	if err != nil {
		return Link{}, err
	}
	if !it.Folder {
		return Link{}, fmt.Errorf("%s is a file: a drop goes into a folder", it.Name)
	}
	if it.NeedsPassword {
		return Link{}, ErrNeedsPassword
	}
	if o.Limits.MaxTotal < 0 || o.Limits.MaxFile < 0 || o.Limits.MaxFiles < 0 {
		return Link{}, errors.New("A drop's limits cannot be negative.")
	}
	id := NewID()
	limits := o.Limits
	req := api.CreateLinkRequest{ID: id, Target: folderID, Kind: api.LinkDrop, KeyMode: api.KeyInURL,
		Expires: timePtr(o.Expires), Drop: &limits}
	if o.Password != "" {
		lp, err := vault.ProtectLink(nil, id, o.Password, KDFParams)
		if err != nil {
			return Link{}, err
		}
		req.KeyMode = api.KeyPassword
		req.Password = &api.LinkPassword{Lock: lp.Lock, AuthHash: lp.AuthHash}
	}
	l, err := d.c.CreateLink(ctx, req)
	if err != nil {
		return Link{}, err
	}
	return Link{Link: l, Name: it.Name}, nil
}

// Links lists the user's links, newest first, with their names and keys
// where this Drive can open them.
func (d *Drive) Links(ctx context.Context) ([]Link, error) {
	ls, err := d.c.Links(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Link, 0, len(ls))
	for _, l := range ls {
		out = append(out, d.openLink(ctx, l))
	}
	return out, nil
}

// openLink adds what the user's keys open to a link: the name as shared
// (a drop: the folder's current name) and the key. A target in the trash,
// or below an item whose password was not given, leaves them empty.
func (d *Drive) openLink(ctx context.Context, l api.Link) Link {
	out := Link{Link: l}
	if l.Kind == api.LinkDrop {
		if n, err := d.node(ctx, l.Target); err == nil {
			if it, err := d.item(ctx, n); err == nil {
				out.Name = it.Name
			}
		}
		return out
	}
	key, err := d.keyOf(ctx, l.Target)
	if err != nil {
		return out
	}
	out.Key = vault.FormatLinkKey(key)
	if plain, err := vault.OpenMeta(key.MetaKey(), vault.LinkMetaSlot(l.ID), l.Meta); err == nil {
		if lm, err := vault.UnmarshalLinkMeta(plain); err == nil {
			out.Name = lm.Name
		}
	}
	return out
}

// UpdateLink changes a link's expiry and limits.
func (d *Drive) UpdateLink(ctx context.Context, id string, req api.UpdateLinkRequest) (Link, error) {
	l, err := d.c.UpdateLink(ctx, id, req)
	if err != nil {
		return Link{}, err
	}
	return d.openLink(ctx, l), nil
}

// DeleteLink removes a link; it stops working at once.
func (d *Drive) DeleteLink(ctx context.Context, id string) error {
	return d.c.DeleteLink(ctx, id)
}

// MailStatus says whether the node can send mail (else offer MailtoURL).
func (d *Drive) MailStatus(ctx context.Context) (api.MailStatus, error) {
	return d.c.MailStatus(ctx)
}

// MailLink has the node mail the link to the addresses. The mail always
// carries the URL without the key: the node must never see a key. The
// key, if the link needs one, goes another way (MailtoURL, or copied).
func (d *Drive) MailLink(ctx context.Context, l Link, base string, to []string, message string) error {
	return d.c.MailLink(ctx, l.ID, api.MailLinkRequest{To: to, URL: ShareURL(base, l.ID, ""), Message: message})
}

// MailtoURL is a mailto: address (RFC 6068) for the user's own mail
// program: the addresses, a subject and a body with the link's URL. With
// includeKey the URL carries the key (not for password links: their
// point is that the URL alone does not open them); without, the body says
// the key comes separately when the link needs one.
func MailtoURL(l Link, base string, to []string, includeKey bool) string {
	name := l.Name
	if name == "" {
		name = "a file"
	}
	subject := "Shared with you: " + name
	if l.Kind == api.LinkDrop {
		subject = "Send me files"
		if l.Name != "" {
			subject += " (" + l.Name + ")"
		}
	}
	var body string
	switch {
	case l.Kind == api.LinkDrop:
		body = "You can send me files here: " + ShareURL(base, l.ID, "")
		if l.KeyMode == api.KeyPassword {
			body += "\n\nYou will need the password I give you separately."
		}
	case l.KeyMode == api.KeyPassword:
		body = ShareURL(base, l.ID, "") + "\n\nYou will need the password I give you separately."
	case includeKey && l.Key != "":
		body = ShareURL(base, l.ID, l.Key)
	default:
		body = ShareURL(base, l.ID, "") + "\n\nThe key to open it comes separately."
	}
	addrs := make([]string, len(to))
	for i, a := range to {
		addrs[i] = mailtoEscape(strings.TrimSpace(a))
	}
	return "mailto:" + strings.Join(addrs, ",") + "?subject=" + mailtoEscape(subject) + "&body=" + mailtoEscape(body)
}

// mailtoEscape percent-encodes all but RFC 3986's unreserved characters
// (and "@" in addresses, which RFC 6068 allows): spaces become %20, not
// "+", which mail programs would show as such.
func mailtoEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~@", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
