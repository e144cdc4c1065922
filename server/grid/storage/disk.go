package storage

import (
	"context"
	"errors"
	"fmt"
	"github.com/communitycube/cube/server/grid/prealloc"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/communitycube/cube/server/grid/storage/wire"
)

// DiskBackend stores containers as files, laid out exactly like a Tahoe-LAFS
// storage server so that a Tahoe storage directory can be served as-is:
//
//	<dir>/shares/<prefix>/<storage-index>/<shnum>
//	<dir>/shares/incoming/<prefix>/<storage-index>/<shnum>   (unpublished)
//
// where <storage-index> is the 26-character lowercase base32 storage index
// and <prefix> its first two characters. Commit publishes an incoming file
// with link(2)+unlink(2), which is atomic and refuses to replace an existing
// share; every directory change is followed by an fsync of the directory so
// that a published share survives a crash.
type DiskBackend struct {
	shares   string
	incoming string
}

var _ Backend = (*DiskBackend)(nil)

// NewDiskBackend opens (creating if needed) a share store under dir. Any
// leftover incoming files are deleted: like Tahoe, upload state is not
// persistent, so a half-finished upload cannot be resumed after a restart
// and its space is reclaimed here.
func NewDiskBackend(dir string) (*DiskBackend, error) {
	d := &DiskBackend{
		shares:   filepath.Join(dir, "shares"),
		incoming: filepath.Join(dir, "shares", "incoming"),
	}
	if err := os.RemoveAll(d.incoming); err != nil {
		return nil, fmt.Errorf("storage: cleaning incoming shares: %w", err)
	}
	if err := mkdirAllSync(d.incoming); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *DiskBackend) bucketDir(root string, si wire.StorageIndex) string {
	s := si.String()
	return filepath.Join(root, s[:2], s)
}

func (d *DiskBackend) path(root string, si wire.StorageIndex, shnum uint16) string {
	return filepath.Join(d.bucketDir(root, si), fmt.Sprint(shnum))
}

// CreateIncoming implements Backend.
func (d *DiskBackend) CreateIncoming(si wire.StorageIndex, shnum uint16) (Incoming, error) {
	p := d.path(d.incoming, si, shnum)
	var f *os.File
	var err error
	// A concurrent removeEmptyParents for a sibling bucket can delete the
	// shared prefix directory between mkdir and open; retry a few times.
	for try := 0; try < 3; try++ {
		if err = mkdirAllSync(filepath.Dir(p)); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if errors.Is(err, fs.ErrExist) {
		return nil, ErrExists
	}
	if err != nil {
		return nil, err
	}
	return &diskIncoming{diskFile: diskFile{f: f}, d: d, final: d.path(d.shares, si, shnum)}, nil
}

// Open implements Backend. Containers are opened read-write when the file
// system allows it and read-only otherwise (e.g. a read-only mount serving
// in read-only mode), in which case writes fail.
func (d *DiskBackend) Open(si wire.StorageIndex, shnum uint16) (Container, error) {
	p := d.path(d.shares, si, shnum)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		f, err = os.Open(p)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, ErrNotFound
	}
	return &diskFile{f: f}, nil
}

// List implements Backend. Names that are not canonical share numbers
// (Tahoe sometimes leaves other files around) are ignored.
func (d *DiskBackend) List(si wire.StorageIndex) ([]uint16, error) {
	ents, err := os.ReadDir(d.bucketDir(d.shares, si))
	if errors.Is(err, fs.ErrNotExist) {
		return []uint16{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]uint16, 0, len(ents))
	for _, e := range ents {
		n, err := wire.ParseShareNumber(e.Name())
		if err != nil || !e.Type().IsRegular() {
			continue
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// Delete implements Backend. Empty bucket and prefix directories are
// removed afterwards, as Tahoe does.
func (d *DiskBackend) Delete(si wire.StorageIndex, shnum uint16) error {
	p := d.path(d.shares, si, shnum)
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	bucket := filepath.Dir(p)
	if err := syncDir(bucket); err != nil {
		return err
	}
	removeEmptyParents(bucket, d.shares)
	return nil
}

// Walk implements Backend.
func (d *DiskBackend) Walk(ctx context.Context, fn func(si wire.StorageIndex, shnum uint16) error) error {
	prefixes, err := os.ReadDir(d.shares)
	if err != nil {
		return err
	}
	for _, p := range prefixes {
		if !p.IsDir() || len(p.Name()) != 2 {
			continue // includes "incoming"
		}
		buckets, err := os.ReadDir(filepath.Join(d.shares, p.Name()))
		if err != nil {
			return err
		}
		for _, b := range buckets {
			if err := ctx.Err(); err != nil {
				return err
			}
			si, err := wire.ParseStorageIndex(b.Name())
			if err != nil || !b.IsDir() || si.Prefix() != p.Name() {
				continue
			}
			shares, err := d.List(si)
			if err != nil {
				return err
			}
			for _, sh := range shares {
				if err := fn(si, sh); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Available implements Backend using statfs(2) where available.
func (d *DiskBackend) Available() (int64, error) { return diskAvailable(d.shares) }

type diskFile struct{ f *os.File }

func (c *diskFile) ReadAt(p []byte, off int64) (int, error)  { return c.f.ReadAt(p, off) }
func (c *diskFile) WriteAt(p []byte, off int64) (int, error) { return c.f.WriteAt(p, off) }
func (c *diskFile) Sync() error                              { return c.f.Sync() }

// Preallocate reserves the container's blocks before it is written (see
// package prealloc); the server calls it when it knows the share's size.
func (c *diskFile) Preallocate(size int64) error { return prealloc.File(c.f, size) }
func (c *diskFile) Close() error                 { return c.f.Close() }
func (c *diskFile) Size() (int64, error) {
	st, err := c.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

type diskIncoming struct {
	diskFile
	d     *DiskBackend
	final string
}

func (c *diskIncoming) Commit() error {
	tmp := c.f.Name()
	if err := c.f.Sync(); err != nil {
		c.f.Close()
		return err
	}
	if err := c.f.Close(); err != nil {
		return err
	}
	// link(2) fails rather than replacing an existing share. File systems
	// without hard links fall back to rename after an existence check; the
	// server holds a per-storage-index lock, so nothing races with it.
	var err error
	for try := 0; try < 3; try++ {
		if err = mkdirAllSync(filepath.Dir(c.final)); err != nil {
			return err
		}
		err = os.Link(tmp, c.final)
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if errors.Is(err, fs.ErrExist) {
		c.discard(tmp)
		return ErrExists
	}
	if err != nil {
		if _, statErr := os.Lstat(c.final); statErr == nil {
			c.discard(tmp)
			return ErrExists
		}
		if err := os.Rename(tmp, c.final); err != nil {
			return err
		}
	} else if err := os.Remove(tmp); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(c.final)); err != nil {
		return err
	}
	removeEmptyParents(filepath.Dir(tmp), c.d.incoming)
	return nil
}

func (c *diskIncoming) Abort() error {
	tmp := c.f.Name()
	c.f.Close()
	c.discard(tmp)
	return nil
}

func (c *diskIncoming) discard(tmp string) {
	os.Remove(tmp)
	removeEmptyParents(filepath.Dir(tmp), c.d.incoming)
}

// removeEmptyParents removes dir and then its parent if they are empty,
// stopping at stop. rmdir(2) refuses non-empty directories, which is what
// makes this safe against concurrent creators of sibling shares (they
// recreate the directory with mkdirAllSync if they lose the race).
func removeEmptyParents(dir, stop string) {
	for i := 0; i < 2 && dir != stop && len(dir) > len(stop); i++ {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// mkdirAllSync is os.MkdirAll that also fsyncs the parent of every
// directory it creates, so the new path is durable.
func mkdirAllSync(dir string) error {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("storage: %s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSync(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// syncDir fsyncs a directory so that entries created or removed in it are
// durable. Platforms that cannot sync directories report EINVAL, which we
// ignore (there is nothing better to do there).
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, fs.ErrPermission) {
		return err
	}
	return nil
}
