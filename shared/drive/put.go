package drive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/scrub"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/communitycube/cube/shared/transfer/download"
	"github.com/communitycube/cube/shared/transfer/upload"
	"github.com/communitycube/cube/shared/vault"
)

// Put is one upload in progress: Upload() pauses, resumes, cancels and
// limits it.
type Put struct {
	d *Drive
	o PutOptions
	payload
}

// payload is a file made ready to upload: scrubbed (planned over the
// source), its content key drawn, its upload engine made. Put and DropPut
// share it, so a drop is scrubbed and encrypted exactly as an upload of
// one's own.
type payload struct {
	key      chk.Key
	size     int64
	scrubbed []string
	mime     string
	up       *upload.Upload
}

// payloadOptions are what newPayload needs of PutOptions or DropPutOptions.
type payloadOptions struct {
	sessions  upload.Sessions
	cipher    func(chk.Key) transfer.Cipher
	name      string
	mime      string
	noScrub   bool
	key       *chk.Key
	encoding  upload.Encoding
	rateLimit int
	progress  func(transfer.Progress)
	worker    func(parts []scrub.Part) upload.Worker
}

func newPayload(src io.ReaderAt, size int64, o payloadOptions) (payload, error) {
	p := payload{size: size}
	source := src
	parts := []scrub.Part{{Off: 0, Len: size}}
	if !o.noScrub {
		plan, err := scrub.Scrub(src, size, o.name)
		if err != nil {
			return p, err
		}
		source = NewPlanReaderAt(plan, src)
		p.size = plan.Size()
		p.scrubbed = scrubbedNames(plan.Removed)
		parts = plan.Parts
	}
	var worker upload.Worker
	if o.worker != nil {
		worker = o.worker(parts)
	}
	if o.key != nil {
		p.key = *o.key
	} else {
		k, err := chk.RandomKey()
		if err != nil {
			return p, err
		}
		p.key = k
	}
	p.mime = o.mime
	if p.mime == "" {
		p.mime = mime.TypeByExtension(strings.ToLower(path.Ext(o.name)))
	}
	if !printable(p.mime) || len(p.mime) > 255 {
		p.mime = ""
	}
	up, err := upload.New(upload.Options{
		Client: o.sessions, Source: source, Size: p.size, Key: p.key,
		Encoding: o.encoding, RateLimit: o.rateLimit, Progress: o.progress,
		Cipher: o.cipher(p.key), Worker: worker,
	})
	if err != nil {
		return p, err
	}
	p.up = up
	return p, nil
}

// versionMeta is the VersionMeta of the uploaded content.
func (p *payload) versionMeta(res upload.Result, modified time.Time) vault.VersionMeta {
	vm := vault.VersionMeta{Cap: res.Cap.String(), MIME: p.mime, Scrubbed: p.scrubbed}
	if !modified.IsZero() {
		vm.Modified = modified.UTC()
	}
	return vm
}

// NewPut scrubs (plans) src and prepares its upload; nothing is sent.
//
// Scrubbing reads only the headers it needs; a file whose structure is
// broken gives a *scrub.FormatError (offer to upload it with NoScrub). The
// upload then reads the scrubbed stream (the plan's parts over src) as it
// goes: memory stays flat whatever the size.
func (d *Drive) NewPut(src io.ReaderAt, size int64, o PutOptions) (*Put, error) {
	if err := vault.ValidateName(o.Name); err != nil {
		return nil, err
	}
	if _, err := d.unlocked(); err != nil {
		return nil, err
	}
	p := &Put{d: d, o: o}
	// A thumbnail too big is refused now, before the content is sent.
	if len(o.Thumbnail) > 0 {
		if _, err := p.thumbnail(); err != nil {
			return nil, err
		}
	}
	var err error
	p.payload, err = newPayload(src, size, payloadOptions{
		sessions: d.c, cipher: d.cipher, name: o.Name, mime: o.MIME, noScrub: o.NoScrub, key: o.Key,
		encoding: o.Encoding, rateLimit: o.RateLimit, progress: o.Progress, worker: o.Worker,
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// scrubbedNames makes scrub's descriptions fit VersionMeta.Scrubbed (1 to 64
// entries of 1 to 128 printable ASCII bytes).
func scrubbedNames(removed []string) []string {
	var out []string
	for _, r := range removed {
		var b strings.Builder
		for i := 0; i < len(r) && b.Len() < 128; i++ {
			if r[i] >= 0x20 && r[i] <= 0x7e {
				b.WriteByte(r[i])
			}
		}
		if s := strings.TrimSpace(b.String()); s != "" && len(out) < 64 {
			out = append(out, s)
		}
	}
	return out
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Key is the file's content key: keep it to resume the upload after the
// program or page ended (PutOptions.Key).
func (p *Put) Key() chk.Key { return p.key }

// Size is the size of what is uploaded, after scrubbing.
func (p *Put) Size() int64 { return p.size }

// Scrubbed says what scrubbing removed (empty: nothing, or NoScrub).
func (p *Put) Scrubbed() []string { return p.scrubbed }

// Upload is the transfer: Pause, Resume, Cancel, SetRateLimit.
func (p *Put) Upload() *upload.Upload { return p.up }

// Run uploads the file and registers it: a new file in the folder, or,
// with Replace and a file of that name there, a new version of it. It may
// be called again after a failure (the upload resumes). A taken name
// without Replace (or taken by a folder) is *api.Error name_taken, checked
// before anything is sent and again at the end.
func (p *Put) Run(ctx context.Context) (Item, error) {
	existing, err := p.existing(ctx)
	if err != nil {
		return Item{}, err
	}
	if existing != nil && (!p.o.Replace || existing.Kind != api.KindFile) {
		return Item{}, nameTaken()
	}
	if existing != nil {
		if _, err := p.d.keyOf(ctx, existing.ID); err != nil {
			return Item{}, err // e.g. ErrNeedsPassword: before sending anything
		}
	}
	res, err := p.up.Run(ctx)
	if err != nil {
		return Item{}, err
	}
	vm := p.versionMeta(res, p.o.Modified)
	if len(p.o.Thumbnail) > 0 {
		tc, err := p.thumbnail()
		if err != nil {
			return Item{}, err
		}
		vm.Thumbnail = tc
	}
	for attempt := 0; ; attempt++ {
		var it Item
		if existing != nil {
			it, err = p.newVersion(ctx, *existing, res, vm)
		} else {
			it, err = p.create(ctx, res, vm)
		}
		if err == nil || attempt >= 3 || !isCode(err, api.CodeNameTaken) || !p.o.Replace {
			return it, err
		}
		// Someone made a file of this name meanwhile: make ours a version of it.
		if existing, err = p.existing(ctx); err != nil {
			return Item{}, err
		}
		if existing == nil || existing.Kind != api.KindFile {
			return Item{}, nameTaken()
		}
	}
}

func nameTaken() error {
	return &api.Error{Code: api.CodeNameTaken, Message: "An item with this name already exists in that folder."}
}

// thumbnail is the thumbnail as a LIT cap: it is sealed inside the
// VersionMeta (at most vault.MaxThumbnail bytes), so it needs no upload and
// goes wherever the version goes.
func (p *Put) thumbnail() (string, error) {
	if len(p.o.Thumbnail) > vault.MaxThumbnail {
		return "", fmt.Errorf("drive: a thumbnail of %d bytes is over the %d allowed", len(p.o.Thumbnail), vault.MaxThumbnail)
	}
	return cap.LIT{Data: p.o.Thumbnail}.String(), nil
}

// existing returns the live node of the target name in the folder, if any.
func (p *Put) existing(ctx context.Context) (*api.Node, error) {
	n, err := p.d.childNamed(ctx, p.o.ParentID, p.o.Name)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &n, nil
}

func (p *Put) modified() time.Time {
	if p.o.Modified.IsZero() {
		return time.Now().UTC()
	}
	return p.o.Modified.UTC()
}

func (p *Put) create(ctx context.Context, res upload.Result, vm vault.VersionMeta) (Item, error) {
	d := p.d
	parent, err := d.node(ctx, p.o.ParentID)
	if err != nil {
		return Item{}, err
	}
	pk, err := d.keyOf(ctx, p.o.ParentID)
	if err != nil {
		return Item{}, err
	}
	id, vid, key := NewID(), NewID(), vault.NewKey()
	fm := vault.FileMeta{Name: p.o.Name, Size: p.size, Modified: p.modified()}
	plain, err := fm.Marshal()
	if err != nil {
		return Item{}, err
	}
	vplain, err := vm.Marshal()
	if err != nil {
		return Item{}, err
	}
	sealed, err := vault.SealMeta(key.MetaKey(), vault.VersionSlot(id, vid), vplain)
	if err != nil {
		return Item{}, err
	}
	req := api.CreateNodeRequest{ID: id, Parent: p.o.ParentID, Kind: api.KindFile,
		Version: &api.NewVersionBody{ID: vid, StorageIndex: res.StorageIndex, Meta: sealed}}
	if err := d.fillCreate(ctx, &req, parent, pk, key, p.o.Name, plain, p.o.Create); err != nil {
		return Item{}, err
	}
	var n api.Node
	if err := d.c.Do(ctx, http.MethodPost, api.Prefix+"nodes", req, &n); err != nil {
		return Item{}, err
	}
	d.remember(id, key)
	return d.item(ctx, n)
}

func (p *Put) newVersion(ctx context.Context, n api.Node, res upload.Result, vm vault.VersionMeta) (Item, error) {
	d := p.d
	k, err := d.keyOf(ctx, n.ID)
	if err != nil {
		return Item{}, err
	}
	for attempt := 0; ; attempt++ {
		meta, vid, sealed, err := d.sealNewVersion(ctx, n, k, p.size, p.modified(), vm)
		if err != nil {
			return Item{}, err
		}
		req := api.NewVersionRequest{BaseVersion: n.Version, Meta: meta,
			Version: api.NewVersionBody{ID: vid, StorageIndex: res.StorageIndex, Meta: sealed}}
		var out api.Node
		err = d.c.Do(ctx, http.MethodPost, api.Prefix+"nodes/"+n.ID+"/versions", req, &out)
		if err == nil {
			return d.item(ctx, out)
		}
		var ae *api.Error
		if attempt >= 5 || !errors.As(err, &ae) || ae.Code != api.CodeConflict || ae.Node == nil {
			return Item{}, err
		}
		n = *ae.Node
	}
}

// Open opens a file's version (versionID "": the current one). The content
// is checked against the version's cap as it is read (download.ErrTampered).
func (d *Drive) Open(ctx context.Context, fileID, versionID string) (File, Version, error) {
	var v Version
	if versionID == "" {
		it, _, err := d.Item(ctx, fileID)
		if err != nil {
			return nil, v, err
		}
		if it.NeedsPassword {
			return nil, v, ErrNeedsPassword
		}
		if it.Folder || it.CurrentVersion() == nil {
			return nil, v, fmt.Errorf("drive: %s is not a file", it.Name)
		}
		v = *it.CurrentVersion()
	} else {
		vs, err := d.Versions(ctx, fileID)
		if err != nil {
			return nil, v, err
		}
		found := false
		for _, x := range vs {
			if x.ID == versionID {
				v, found = x, true
			}
		}
		if !found {
			return nil, v, &api.Error{Code: api.CodeNotFound, Message: "No such version of this file."}
		}
	}
	c, err := cap.Parse(v.Cap)
	if err != nil {
		return nil, v, err
	}
	switch c := c.(type) {
	case cap.LIT:
		return litFile{c.Data}, v, nil
	case cap.CHK:
		r, err := download.Open(ctx, d.c, v.ID, c, d.cipher(c.Key))
		if err != nil {
			return nil, v, err
		}
		return r, v, nil
	}
	return nil, v, fmt.Errorf("%w: a version whose cap is not a read cap", vault.ErrCorrupt)
}

// litFile is a literal version's content (the cap holds it).
type litFile struct{ data []byte }

func (f litFile) Size() int64 { return int64(len(f.data)) }

func (f litFile) ReadAt(b []byte, off int64) (int, error) {
	return bytes.NewReader(f.data).ReadAt(b, off)
}

func (f litFile) WriteTo(w io.Writer) (int64, error) { return bytes.NewReader(f.data).WriteTo(w) }

// PlanReaderAt is an io.ReaderAt over a scrub plan's output: the kept
// ranges are read from src, the inserted bytes from the plan. It holds no
// copy of the file.
type PlanReaderAt struct {
	parts []scrub.Part
	ends  []int64 // ends[i]: output offset just after parts[i]
	src   io.ReaderAt
}

// NewPlanReaderAt returns the ReaderAt of plan's output over src.
func NewPlanReaderAt(plan *scrub.Plan, src io.ReaderAt) *PlanReaderAt {
	r := &PlanReaderAt{parts: plan.Parts, src: src}
	var off int64
	for _, p := range plan.Parts {
		if p.Data != nil {
			off += int64(len(p.Data))
		} else {
			off += p.Len
		}
		r.ends = append(r.ends, off)
	}
	return r
}

// Size is the output's size.
func (r *PlanReaderAt) Size() int64 {
	if len(r.ends) == 0 {
		return 0
	}
	return r.ends[len(r.ends)-1]
}

// ReadAt implements io.ReaderAt.
func (r *PlanReaderAt) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("drive: negative offset")
	}
	n := 0
	i := sort.Search(len(r.ends), func(i int) bool { return r.ends[i] > off })
	for n < len(b) && i < len(r.parts) {
		start := int64(0)
		if i > 0 {
			start = r.ends[i-1]
		}
		in := off - start // offset inside part i
		want := min(int64(len(b)-n), r.ends[i]-off)
		pt := r.parts[i]
		if pt.Data != nil {
			copy(b[n:n+int(want)], pt.Data[in:in+want])
		} else {
			k, err := r.src.ReadAt(b[n:n+int(want)], pt.Off+in)
			if int64(k) < want {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n + k, err
			}
		}
		n += int(want)
		off += want
		i++
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}
