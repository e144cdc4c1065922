package drive

// Opening a share link, the recipient's side: no account, only the link id
// and the key (from the URL's fragment, typed, or unwrapped with the link's
// password). The node serves the target's sealed metadata and ciphertext
// to whoever holds the link's access token; everything is opened here.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/communitycube/cube/shared/transfer/download"
	"github.com/communitycube/cube/shared/vault"
)

// ErrNeedsKey: a link whose key is not in its URL was opened without it.
var ErrNeedsKey = errors.New("This link needs its key (the part after # that was given to you separately).")

// ErrWrongKey: the key given does not open this link.
var ErrWrongKey = errors.New("This key does not open this link: check that it was copied whole.")

// ErrNeedsLinkPassword: a password link (or drop) was opened without its password.
var ErrNeedsLinkPassword = errors.New("This link is protected by a password: enter it to open the link.")

// ErrNotShared: an item that is not the link's target nor below it (or
// not listed yet through the link).
var ErrNotShared = errors.New("This item is not part of what the link shares.")

// ParseShareURL splits a link's address, https://host/s/ID#KEY (the key is
// optional), into the node's base URL, the link id and the key text.
// Surrounding white space is ignored; a node served below a path
// (https://host/cube/s/ID) keeps that path in base.
func ParseShareURL(s string) (base, id, key string, err error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", "", fmt.Errorf("%q is not a share link (https://host/s/ID#KEY)", s)
	}
	i := strings.LastIndex(u.Path, "/s/")
	if i < 0 {
		return "", "", "", fmt.Errorf("%q is not a share link: its path should be /s/ID", s)
	}
	id = strings.TrimSuffix(u.Path[i+3:], "/")
	if !ValidID(id) {
		return "", "", "", fmt.Errorf("%q is not a share link: %q is not a link id", s, id)
	}
	if u.Fragment != "" {
		k, err := vault.ParseLinkKey(u.Fragment)
		if err != nil {
			return "", "", "", err
		}
		key = vault.FormatLinkKey(k)
		k.Zero()
	}
	base = u.Scheme + "://" + u.Host + u.Path[:i]
	return base, id, key, nil
}

// LookupLink fetches what anyone may know of a link before opening it: its
// kind, how its key comes, its expiry. A link that no longer works is
// *api.Error link_removed, link_expired or link_exhausted.
func LookupLink(ctx context.Context, c *api.Client, id string) (api.PublicLink, error) {
	if !ValidID(id) {
		return api.PublicLink{}, &api.Error{Code: api.CodeNotFound, Message: "No such link."}
	}
	return c.PublicLink(ctx, id)
}

// Secret is what the recipient has to open a link.
type Secret struct {
	Key          string // link key text (KeySeparate links, or taken from the URL)
	Password     string // the link's password (KeyPassword)
	ItemPassword string // the target's own item password, when the target is a locked item and no key is given
}

// Shared is an opened file or folder link.
type Shared struct {
	c    *api.Client
	pl   api.PublicLink
	root Item

	mu        sync.Mutex
	keys      map[string]vault.Key // node keys opened so far, the target's first
	metaKeys  metaKeyCache
	nodes     map[string]api.Node // nodes seen (the target, and what List returned)
	newCipher func(chk.Key) transfer.Cipher
}

// OpenLink opens link id with s: it proves the password (password links),
// gets the access token (set in c.Header[api.LinkTokenHeader], which the
// other calls need) and opens the link's metadata with the key.
//
// Errors: ErrNeedsKey, ErrNeedsLinkPassword, ErrWrongKey,
// vault.ErrWrongPassword (the link's password, or ItemPassword), and
// *api.Error with api.CodeLinkRemoved, CodeLinkExpired, CodeLinkExhausted
// or CodeNotFound for links that do not work.
func OpenLink(ctx context.Context, c *api.Client, id string, s Secret) (*Shared, error) {
	pl, err := LookupLink(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if pl.Kind != api.LinkFile && pl.Kind != api.LinkFolder {
		return nil, fmt.Errorf("This is a %s link, not a link to a file or folder.", pl.Kind)
	}
	var key vault.Key
	haveKey := false
	req := api.AccessRequest{}
	var lpk *vault.LinkPasswordKey
	switch {
	case pl.KeyMode == api.KeyPassword:
		if s.Password == "" {
			return nil, ErrNeedsLinkPassword
		}
		if lpk, err = vault.DeriveLinkPassword(pl.Lock, s.Password); err != nil {
			return nil, err
		}
		defer lpk.Zero()
		req.PasswordAuth = lpk.Auth()
	case s.Key != "":
		if key, err = vault.ParseLinkKey(s.Key); err != nil {
			return nil, err
		}
		haveKey = true
	case s.ItemPassword == "":
		return nil, ErrNeedsKey
	}
	acc, err := c.LinkAccess(ctx, id, req)
	if isCode(err, api.CodeWrongPassword) {
		return nil, vault.ErrWrongPassword
	}
	if err != nil {
		return nil, err
	}
	if acc.Node == nil || acc.Token == "" {
		return nil, fmt.Errorf("%w: the node opened the link without its target", vault.ErrCorrupt)
	}
	n := *acc.Node
	switch {
	case lpk != nil:
		if key, err = lpk.Open(acc.Wrapped, id); err != nil {
			return nil, err
		}
	case !haveKey:
		if len(n.Lock) == 0 {
			return nil, ErrNeedsKey // no item password to use instead of the key
		}
		if key, err = vault.UnlockItem(n.Lock, n.WrappedKey, n.ID, s.ItemPassword); err != nil {
			return nil, err
		}
	}
	plain, err := vault.OpenMeta(key.MetaKey(), vault.LinkMetaSlot(id), acc.Meta)
	if err != nil {
		if lpk != nil || !haveKey {
			// The password unwrapped a key that does not open the
			// metadata: the node handed out another link's material.
			return nil, fmt.Errorf("%w: the link's metadata does not open with its key", vault.ErrCorrupt)
		}
		return nil, ErrWrongKey
	}
	lm, err := vault.UnmarshalLinkMeta(plain)
	if err != nil {
		return nil, err
	}
	if lm.Kind != n.Kind || lm.Kind != pl.Kind {
		return nil, fmt.Errorf("%w: the link is to a %s, the node serves a %s", vault.ErrCorrupt, lm.Kind, n.Kind)
	}
	sh := &Shared{c: c, pl: pl, keys: map[string]vault.Key{n.ID: key}, nodes: map[string]api.Node{n.ID: n}}
	root := baseItem(n)
	root.Name = lm.Name
	root.ParentID = "" // the owner's folder is none of the recipient's business
	root.NeedsPassword = false
	if !root.Folder && n.Current != nil {
		v, err := openVersion(key.MetaKey(), n.ID, *n.Current)
		if err != nil {
			return nil, err
		}
		v.Current = true
		root.current = &v
		root.Size = v.Size
	}
	sh.root = root
	if c.Header == nil {
		c.Header = map[string]string{}
	}
	c.Header[api.LinkTokenHeader] = acc.Token
	return sh, nil
}

// Link is what the node says of the link.
func (s *Shared) Link() api.PublicLink { return s.pl }

// Root is the link's target, named as shared; a file has Current set.
func (s *Shared) Root() Item { return s.root }

// SetCipher chooses the AES-CTR implementation for downloads (WebCrypto in
// the browser), like Drive.SetCipher.
func (s *Shared) SetCipher(newCipher func(chk.Key) transfer.Cipher) {
	s.mu.Lock()
	s.newCipher = newCipher
	s.mu.Unlock()
}

func (s *Shared) cipher(k chk.Key) transfer.Cipher {
	s.mu.Lock()
	f := s.newCipher
	s.mu.Unlock()
	if f == nil {
		return transfer.GoCipher(k)
	}
	return f(k)
}

// keyOf returns the key of a node seen through the link, unwrapping it
// from the nearest opened folder above it.
func (s *Shared) keyOf(id string) (vault.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyOfLocked(id, 0)
}

func (s *Shared) keyOfLocked(id string, depth int) (vault.Key, error) {
	if k, ok := s.keys[id]; ok {
		return k, nil
	}
	n, ok := s.nodes[id]
	if !ok || depth > 1000 {
		return vault.Key{}, ErrNotShared
	}
	if len(n.Lock) > 0 {
		return vault.Key{}, ErrNeedsPassword
	}
	pk, err := s.keyOfLocked(n.Parent, depth+1)
	if err != nil {
		return vault.Key{}, err
	}
	k, err := vault.Unwrap(pk, n.WrappedKey, vault.NodeKeySlot(n.ID))
	if err != nil {
		return vault.Key{}, err
	}
	s.keys[id] = k
	return k, nil
}

// List returns the children of the target folder or of a folder below it
// (listed before through List), their names opened with the keys below
// the target. Items with their own password are listed with NeedsPassword
// until UnlockItem.
func (s *Shared) List(ctx context.Context, folderID string) ([]Item, error) {
	pk, err := s.keyOf(folderID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	folder := s.nodes[folderID]
	s.mu.Unlock()
	if folder.Kind != api.KindFolder {
		return nil, errors.New("This is a file, not a folder.")
	}
	return openAhead(ctx, func(ctx context.Context, after string) (api.Children, error) {
		return s.c.LinkChildren(ctx, s.pl.ID, folderID, after)
	}, func(n api.Node) (Item, error) {
		if n.Parent != folderID {
			return Item{}, fmt.Errorf("%w: the node listed an item of another folder", vault.ErrCorrupt)
		}
		s.mu.Lock()
		s.nodes[n.ID] = n
		s.mu.Unlock()
		return s.item(pk, n)
	})
}

// item opens a node's metadata under its parent's key pk.
func (s *Shared) item(pk vault.Key, n api.Node) (Item, error) {
	it := baseItem(n)
	m, err := openNodeMeta(s.metaKeys.of(pk), n)
	if err != nil {
		return it, err
	}
	m.fill(&it)
	if it.Locked {
		s.mu.Lock()
		_, ok := s.keys[n.ID]
		s.mu.Unlock()
		if !ok {
			it.NeedsPassword = true
			return it, nil
		}
	}
	if !it.Folder && n.Current != nil {
		k, err := s.keyOf(n.ID)
		if err != nil {
			return it, err
		}
		v, err := openVersion(s.metaKeys.of(k), n.ID, *n.Current)
		if err != nil {
			return it, err
		}
		v.Current = true
		it.current = &v
	}
	return it, nil
}

// UnlockItem gives the password of an item with its own password inside a
// shared folder. A wrong password is vault.ErrWrongPassword.
func (s *Shared) UnlockItem(ctx context.Context, id, password string) error {
	s.mu.Lock()
	n, ok := s.nodes[id]
	s.mu.Unlock()
	if !ok {
		return ErrNotShared
	}
	if len(n.Lock) == 0 {
		return nil
	}
	k, err := vault.UnlockItem(n.Lock, n.WrappedKey, id, password)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.keys[id] = k
	s.mu.Unlock()
	return nil
}

// Open opens the current version of the target file or of a file listed
// below the target folder (versionID "" or that version's id: a link
// shares no other version). The content is checked against the version's
// cap as it is read (download.ErrTampered).
func (s *Shared) Open(ctx context.Context, fileID, versionID string) (File, Version, error) {
	s.mu.Lock()
	n, ok := s.nodes[fileID]
	s.mu.Unlock()
	if !ok {
		return nil, Version{}, ErrNotShared
	}
	if n.Kind != api.KindFile || n.Current == nil {
		return nil, Version{}, errors.New("This is a folder, not a file.")
	}
	if versionID != "" && versionID != n.Current.ID {
		return nil, Version{}, &api.Error{Code: api.CodeNotFound, Message: "A link shares only the current version of a file."}
	}
	k, err := s.keyOf(fileID)
	if err != nil {
		return nil, Version{}, err
	}
	v, err := openVersion(s.metaKeys.of(k), fileID, *n.Current)
	if err != nil {
		return nil, Version{}, err
	}
	v.Current = true
	f, err := openContent(ctx, s.c.LinkRoutes(s.pl.ID), v, s.cipher)
	return f, v, err
}

// openContent opens a version's content by its cap: a literal one from the
// cap itself, a CHK one from src, verified as it is read.
func openContent(ctx context.Context, src download.Source, v Version, newCipher func(chk.Key) transfer.Cipher) (File, error) {
	c, err := cap.Parse(v.Cap)
	if err != nil {
		return nil, err
	}
	switch c := c.(type) {
	case cap.LIT:
		return litFile{c.Data}, nil
	case cap.CHK:
		r, err := download.Open(ctx, src, v.ID, c, newCipher(c.Key))
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	return nil, fmt.Errorf("%w: a version whose cap is not a read cap", vault.ErrCorrupt)
}
