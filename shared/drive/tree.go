package drive

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/vault"
)

// NewID returns a fresh node or version id: 16 random bytes in lowercase
// base32 (26 characters).
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return cap.EncodeBase32(b[:])
}

// FreeName returns name, or the first of "name (2).ext", "name (3).ext"...
// that taken does not report as taken.
func FreeName(name string, taken func(string) bool) string {
	if !taken(name) {
		return name
	}
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	if base == "" { // ".profile"
		base, ext = name, ""
	}
	for i := 2; ; i++ {
		n := base + " (" + strconv.Itoa(i) + ")" + ext
		if !taken(n) {
			return n
		}
	}
}

func (d *Drive) remember(id string, k vault.Key) {
	d.mu.Lock()
	if d.keys != nil {
		d.keys[id] = k
	}
	d.mu.Unlock()
}

func (d *Drive) cachedKey(id string) (vault.Key, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k, ok := d.keys[id]
	return k, ok
}

func (d *Drive) nodeInfo(ctx context.Context, id string) (api.NodeInfo, error) {
	var info api.NodeInfo
	if !ValidID(id) {
		return info, &api.Error{Code: api.CodeNotFound, Message: ErrNotFound.Error()}
	}
	err := d.c.Do(ctx, http.MethodGet, api.Prefix+"nodes/"+url.PathEscape(id), nil, &info)
	if err == nil && info.Node.ID != id {
		err = fmt.Errorf("%w: the node answered with another item", vault.ErrCorrupt)
	}
	return info, err
}

func (d *Drive) node(ctx context.Context, id string) (api.Node, error) {
	info, err := d.nodeInfo(ctx, id)
	return info.Node, err
}

// keyOf returns node id's key, unwrapping it down from the nearest folder
// whose key is at hand: the root folder, or an item another user shares
// with this one (shares.go; the node gives a recipient the ancestors only
// up to the shared item).
func (d *Drive) keyOf(ctx context.Context, id string) (vault.Key, error) {
	if _, err := d.unlocked(); err != nil {
		return vault.Key{}, err
	}
	if k, ok := d.cachedKey(id); ok {
		return k, nil
	}
	info, err := d.nodeInfo(ctx, id)
	if err != nil {
		return vault.Key{}, err
	}
	chain := append(append([]api.Node(nil), info.Ancestors...), info.Node)
	start := d.nearestKey(chain)
	if start < 0 && len(chain) > 0 && chain[0].ID != d.rootID {
		// Not below the root folder: shared with us, perhaps since this
		// Drive last looked.
		if _, err := d.SharedWithMe(ctx); err != nil {
			return vault.Key{}, err
		}
		start = d.nearestKey(chain)
	}
	if start < 0 {
		if len(chain) > 0 && chain[0].ID == d.rootID {
			return vault.Key{}, ErrClosed
		}
		return vault.Key{}, fmt.Errorf("%w: %s is neither below the root folder nor shared with you", ErrNotFound, id)
	}
	fromShare := d.foreign(chain[start].ID)
	var parent vault.Key
	for i, n := range chain {
		if i < start {
			continue
		}
		if k, ok := d.cachedKey(n.ID); ok {
			parent = k
			continue
		}
		if n.Parent != chain[i-1].ID {
			return vault.Key{}, fmt.Errorf("%w: broken chain of folders", vault.ErrCorrupt)
		}
		if len(n.Lock) > 0 {
			return vault.Key{}, ErrNeedsPassword
		}
		k, err := vault.Unwrap(parent, n.WrappedKey, vault.NodeKeySlot(n.ID))
		if err != nil {
			return vault.Key{}, err
		}
		d.remember(n.ID, k)
		if fromShare {
			d.markForeign(n.ID)
		}
		parent = k
	}
	return parent, nil
}

// nearestKey returns the index of the last node of chain (root first)
// whose key is at hand, or -1.
func (d *Drive) nearestKey(chain []api.Node) int {
	for i := len(chain) - 1; i >= 0; i-- {
		if _, ok := d.cachedKey(chain[i].ID); ok {
			return i
		}
	}
	return -1
}

// children lists every page of a folder's live children.
func (d *Drive) children(ctx context.Context, folderID string) ([]api.Node, error) {
	var out []api.Node
	err := pagesAhead(ctx, d.childPages(folderID), func(page []api.Node) error {
		out = append(out, page...)
		return nil
	})
	return out, err
}

// childPage is how many children a page asks for: the node's most
// (server/files MaxChildren); fewer round trips for long folders.
const childPage = 1000

// A pageFetch gets the page of children after the cursor ("": the first).
type pageFetch func(ctx context.Context, after string) (api.Children, error)

// childPages fetches folderID's children.
func (d *Drive) childPages(folderID string) pageFetch {
	return func(ctx context.Context, after string) (api.Children, error) {
		var page api.Children
		q := api.Prefix + "nodes/" + url.PathEscape(folderID) + "/children?limit=" + strconv.Itoa(childPage)
		if after != "" {
			q += "&after=" + url.QueryEscape(after)
		}
		err := d.c.Do(ctx, http.MethodGet, q, nil, &page)
		return page, err
	}
}

// openAhead opens every node fetch lists, in order, with open (pagesAhead).
func openAhead(ctx context.Context, fetch pageFetch, open func(api.Node) (Item, error)) ([]Item, error) {
	var out []Item
	err := pagesAhead(ctx, fetch, func(page []api.Node) error {
		for _, n := range page {
			it, err := open(n)
			if err != nil {
				return err
			}
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pagesAhead calls f with each page that fetch returns, fetching the next
// page while f works on the current one: in the browser f's decrypting
// and the node's answering then overlap (the node's time was about a
// sixth of opening a 10,000-entry folder, page after page).
func pagesAhead(ctx context.Context, fetch pageFetch, f func([]api.Node) error) error {
	type result struct {
		items []api.Node
		err   error
	}
	ctx, cancel := context.WithCancel(ctx)
	pages := make(chan result, 1)
	defer func() {
		// The fetching ends (its request cancelled) before this returns.
		cancel()
		for range pages {
		}
	}()
	go func() {
		defer close(pages)
		after := ""
		for {
			page, err := fetch(ctx, after)
			select {
			case pages <- result{page.Items, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || page.Next == "" || page.Next == after {
				return
			}
			after = page.Next
		}
	}()
	for p := range pages {
		if p.err != nil {
			return p.err
		}
		if err := f(p.items); err != nil {
			return err
		}
	}
	return nil
}

// items opens the metadata of nodes from anywhere in the tree. With
// lenient, an item whose folder cannot be opened (deleted for good, or
// below an item with its own password: NeedsPassword) is listed without a
// name instead of failing the list.
func (d *Drive) items(ctx context.Context, nodes []api.Node, lenient bool) ([]Item, error) {
	out := make([]Item, 0, len(nodes))
	for _, n := range nodes {
		it, err := d.item(ctx, n)
		if err != nil {
			if !lenient {
				return nil, err
			}
			it = baseItem(n)
			it.NeedsPassword = errors.Is(err, ErrNeedsPassword)
		}
		out = append(out, it)
	}
	return out, nil
}

func baseItem(n api.Node) Item {
	return Item{
		ID: n.ID, ParentID: n.Parent, Folder: n.Kind == api.KindFolder,
		Size: n.Size, Modified: n.Modified, Created: n.Created, Mode: n.Mode,
		Favorite: n.Favorite, KeepHistory: n.KeepHistory, Locked: len(n.Lock) > 0,
		Trashed: n.Trashed, Node: n,
	}
}

// item opens a node's metadata (with its parent's key) and, for a file
// whose key is at hand, its current version's.
func (d *Drive) item(ctx context.Context, n api.Node) (Item, error) {
	return d.openItem(ctx, n, false)
}

// openItem opens what item does; with lazy a file's current version is
// opened only when CurrentVersion is first asked for (List).
func (d *Drive) openItem(ctx context.Context, n api.Node, lazy bool) (Item, error) {
	it := baseItem(n)
	if r, ok := d.shareRootOf(n.ID); ok {
		// Shared with us: its name is the one it was shared under (its
		// own is sealed under a folder of the owner's we have no key of).
		return d.shareRootItem(it, n, r)
	}
	if n.Parent == "" {
		if n.ID != d.rootID {
			return it, fmt.Errorf("%w: an item without a folder", ErrNotFound)
		}
		return it, nil
	}
	pk, err := d.keyOf(ctx, n.Parent)
	if err != nil {
		if r, ok := d.lateShareRoot(ctx, n.ID, err); ok {
			return d.shareRootItem(it, n, r)
		}
		return it, err
	}
	m, err := openNodeMeta(d.metaKeys.of(pk), n)
	if err != nil {
		return it, err
	}
	m.fill(&it)
	if it.Locked {
		if _, ok := d.cachedKey(n.ID); !ok {
			it.NeedsPassword = true
			return it, nil
		}
	}
	if it.Folder || n.Current == nil {
		return it, nil
	}
	if lazy {
		it.lazy = &lazyVersion{open: func() (*Version, error) { return d.openCurrent(pk, n) }}
		return it, nil
	}
	it.current, err = d.openCurrent(pk, n)
	return it, err
}

// openCurrent opens file n's current version; pk is its folder's key.
func (d *Drive) openCurrent(pk vault.Key, n api.Node) (*Version, error) {
	if _, err := d.unlocked(); err != nil {
		return nil, err // closed since the listing
	}
	k, ok := d.cachedKey(n.ID)
	if !ok {
		var err error
		if k, err = vault.Unwrap(pk, n.WrappedKey, vault.NodeKeySlot(n.ID)); err != nil {
			return nil, err
		}
		d.remember(n.ID, k)
		if d.foreign(n.Parent) {
			d.markForeign(n.ID)
		}
	}
	v, err := openVersion(d.metaKeys.of(k), n.ID, *n.Current)
	if err != nil {
		return nil, err
	}
	v.Current = true
	return &v, nil
}

// lazyVersion opens a listed file's current version on first use. Opening
// it (unwrapping the file's key, deriving its meta key, decrypting the
// version's metadata) was about a third of listing a 10,000-entry folder
// in the browser, which draws only the rows on the screen. A version that
// does not open stays nil; opening the item by itself says why.
type lazyVersion struct {
	once sync.Once
	open func() (*Version, error)
	v    *Version
}

func (l *lazyVersion) get() *Version {
	l.once.Do(func() {
		l.v, _ = l.open()
		l.open = nil // and the folder key it holds
	})
	return l.v
}

// nodeMeta is an item's opened FolderMeta or FileMeta.
type nodeMeta struct {
	plain             []byte // the plaintext, to re-seal changed
	name              string
	created, modified time.Time
	size              int64 // files
}

// fill sets what the metadata says in it.
func (m nodeMeta) fill(it *Item) {
	it.Name = m.name
	if !m.created.IsZero() {
		it.Created = m.created
	}
	if !m.modified.IsZero() {
		it.Modified = m.modified
	}
	if !it.Folder {
		it.Size = m.size
	}
}

// openNodeMeta opens a node's FolderMeta or FileMeta under its parent's
// meta key.
func openNodeMeta(mk vault.MetaKey, n api.Node) (nodeMeta, error) {
	plain, err := vault.OpenMeta(mk, vault.MetaSlot(n.ID), n.Meta)
	if err != nil {
		return nodeMeta{}, err
	}
	switch n.Kind {
	case api.KindFolder:
		fm, err := vault.UnmarshalFolderMeta(plain)
		if err != nil {
			return nodeMeta{}, err
		}
		return nodeMeta{plain: plain, name: fm.Name, created: fm.Created, modified: fm.Modified}, nil
	case api.KindFile:
		fm, err := vault.UnmarshalFileMeta(plain)
		if err != nil {
			return nodeMeta{}, err
		}
		return nodeMeta{plain: plain, name: fm.Name, modified: fm.Modified, size: fm.Size}, nil
	}
	return nodeMeta{}, fmt.Errorf("%w: unknown kind %q", vault.ErrCorrupt, n.Kind)
}

// metaKeyCache remembers the meta keys derived from node keys. A listing
// opens every child's metadata under its parent's meta key and every
// file's current version under the file's: HKDF in the browser's wasm
// costs about 30 µs, which made a sixth of a 10,000-entry listing when
// each was derived again (BENCHMARKS, "a 10,000-entry folder").
type metaKeyCache struct {
	mu sync.Mutex
	m  map[vault.Key]vault.MetaKey
}

// metaKeyCacheMax bounds the cache (about 100 bytes an entry); when full
// it starts over.
const metaKeyCacheMax = 1 << 15

func (c *metaKeyCache) of(k vault.Key) vault.MetaKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	if mk, ok := c.m[k]; ok {
		return mk
	}
	if c.m == nil || len(c.m) >= metaKeyCacheMax {
		c.forgetLocked()
		c.m = make(map[vault.Key]vault.MetaKey)
	}
	mk := k.MetaKey()
	c.m[k] = mk
	return mk
}

// forget zeroes and drops every entry (Drive.Close).
func (c *metaKeyCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgetLocked()
}

func (c *metaKeyCache) forgetLocked() {
	for k, mk := range c.m {
		mk.Zero()
		delete(c.m, k)
	}
}

// rename returns the metadata plaintext with another name.
func rename(n api.Node, plain []byte, name string) ([]byte, error) {
	if n.Kind == api.KindFolder {
		fm, err := vault.UnmarshalFolderMeta(plain)
		if err != nil {
			return nil, err
		}
		fm.Name = name
		return fm.Marshal()
	}
	fm, err := vault.UnmarshalFileMeta(plain)
	if err != nil {
		return nil, err
	}
	fm.Name = name
	return fm.Marshal()
}

// renamedMeta re-seals n's metadata with another name under its parent's key.
func (d *Drive) renamedMeta(pk vault.Key, n api.Node, name string) ([]byte, error) {
	m, err := openNodeMeta(d.metaKeys.of(pk), n)
	if err != nil {
		return nil, err
	}
	plain, err := rename(n, m.plain, name)
	if err != nil {
		return nil, err
	}
	return vault.SealMeta(pk.MetaKey(), vault.MetaSlot(n.ID), plain)
}

// openVersion opens a version's VersionMeta under its file's key.
func openVersion(mk vault.MetaKey, fileID string, v api.Version) (Version, error) {
	plain, err := vault.OpenMeta(mk, vault.VersionSlot(fileID, v.ID), v.Meta)
	if err != nil {
		return Version{}, err
	}
	vm, err := vault.UnmarshalVersionMeta(plain)
	if err != nil {
		return Version{}, err
	}
	out := Version{ID: v.ID, Size: v.Size, Created: v.Created, Modified: vm.Modified, MIME: vm.MIME,
		Cap: vm.Cap, Thumbnail: vm.Thumbnail, Scrubbed: vm.Scrubbed}
	switch c, _ := cap.Parse(vm.Cap); c := c.(type) {
	case cap.LIT:
		out.Size = int64(len(c.Data))
	case cap.CHK:
		out.Size = c.Size
	}
	return out, nil
}

// Resolve finds an item by path from the root ("/", "/a/b.txt"). Names
// match as the node's uniqueness does (case and Unicode form folded). A
// missing item is ErrNotFound.
func (d *Drive) Resolve(ctx context.Context, p string) (Item, error) {
	cur, err := d.rootItem(ctx)
	if err != nil {
		return Item{}, err
	}
	for _, name := range strings.Split(p, "/") {
		if name == "" || name == "." {
			continue
		}
		if !cur.Folder {
			return Item{}, fmt.Errorf("%q is a file: %w", cur.Name, ErrNotFound)
		}
		n, err := d.childNamed(ctx, cur.ID, name)
		if err != nil {
			return Item{}, err
		}
		if cur, err = d.item(ctx, n); err != nil {
			return Item{}, err
		}
	}
	return cur, nil
}

func (d *Drive) rootItem(ctx context.Context) (Item, error) {
	n, err := d.node(ctx, d.rootID)
	if err != nil {
		return Item{}, err
	}
	return d.item(ctx, n)
}

// childNamed finds a folder's live child by name (through its HMAC).
func (d *Drive) childNamed(ctx context.Context, folderID, name string) (api.Node, error) {
	pk, err := d.keyOf(ctx, folderID)
	if err != nil {
		return api.Node{}, err
	}
	h := vault.NameHMAC(pk, name)
	var n api.Node
	q := api.Prefix + "nodes/" + url.PathEscape(folderID) + "/child?name_hmac=" + base64.RawURLEncoding.EncodeToString(h[:])
	if err := d.c.Do(ctx, http.MethodGet, q, nil, &n); err != nil {
		if isCode(err, api.CodeNotFound) {
			return api.Node{}, fmt.Errorf("%q: %w", name, ErrNotFound)
		}
		return api.Node{}, err
	}
	return n, nil
}

// The session seal (Seal, Resume): 0x01 ‖ nonce ‖ XChaCha20-Poly1305.
const sessionAD = "communitycube/v1/drive-session"

func sealSession(key, plain []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("drive: session key: %w", err)
	}
	out := make([]byte, 1+chacha20poly1305.NonceSizeX, 1+chacha20poly1305.NonceSizeX+len(plain)+chacha20poly1305.Overhead)
	out[0] = 1
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return aead.Seal(out, out[1:], plain, []byte(sessionAD)), nil
}

func openSession(key, sealed []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("drive: session key: %w", err)
	}
	if len(sealed) < 1+chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return nil, fmt.Errorf("%w: sealed keys too short", vault.ErrCorrupt)
	}
	if sealed[0] != 1 {
		return nil, fmt.Errorf("%w: sealed keys of version %d", vault.ErrVersion, sealed[0])
	}
	pt, err := aead.Open(nil, sealed[1:1+chacha20poly1305.NonceSizeX], sealed[1+chacha20poly1305.NonceSizeX:], []byte(sessionAD))
	if err != nil {
		return nil, fmt.Errorf("%w: the sealed keys do not open with this session key", vault.ErrCorrupt)
	}
	return pt, nil
}
