// Package download reads CHK files from the grid: it finds the file's
// shares on its permuted ring, reads k of them from the fastest servers,
// lets shared/chk verify every block, reports corrupt shares to their
// servers, and fails over to other servers and shares when one misbehaves
// or disappears. Memory stays at about one segment whatever the file size,
// and byte ranges fetch only the segments they cover.
package download

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
)

// ErrVerifyCap is returned when asked to decrypt with a verify cap.
var ErrVerifyCap = errors.New("download: a verify cap holds no key; use OpenCiphertext")

// Download writes the whole file named by c (a CHK or LIT cap) to w.
func Download(ctx context.Context, b broker.Broker, c cap.Cap, w io.Writer, opts *Options) (int64, error) {
	return DownloadRange(ctx, b, c, w, 0, -1, opts)
}

// DownloadRange writes length bytes of the file starting at off to w
// (length < 0: to the end), fetching only the segments covering them. The
// range is clipped to the file; an offset past the end is an error.
func DownloadRange(ctx context.Context, b broker.Broker, c cap.Cap, w io.Writer, off, length int64, opts *Options) (int64, error) {
	switch c := c.(type) {
	case cap.LIT:
		size := int64(len(c.Data))
		if off < 0 || off > size {
			return 0, fmt.Errorf("download: offset %d outside %d-byte file", off, size)
		}
		end := size
		if length >= 0 {
			end = min(size, off+length)
		}
		n, err := w.Write(c.Data[off:end])
		return int64(n), err
	case cap.CHK:
		r, err := Open(ctx, b, c, opts)
		if err != nil {
			return 0, err
		}
		if length < 0 {
			length = c.Size
		}
		n, err := r.WriteRange(w, off, length)
		return n, errors.Join(err, r.Close())
	case cap.Verifier:
		return 0, ErrVerifyCap
	}
	return 0, fmt.Errorf("download: unsupported cap %T", c)
}

// Reader is an open CHK file on the grid. It implements io.ReaderAt (so
// io.NewSectionReader gives an io.ReadSeeker for http.ServeContent) and
// io.WriterTo. Its methods are safe for concurrent use but serialised.
// Close it to stop background queries and wait for corruption reports.
type Reader struct {
	dec *chk.Decoder
	src *source
}

// Open finds the shares of the file c names and returns a Reader for its
// plaintext. It fails early if fewer than k shares can be found.
func Open(ctx context.Context, b broker.Broker, c cap.CHK, opts *Options) (*Reader, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	src, err := newSource(ctx, b, c.Verifier(), opts)
	if err != nil {
		return nil, err
	}
	dec, err := chk.NewDecoder(c, src, src.decoderOptions())
	if err != nil {
		src.close()
		return nil, err
	}
	return &Reader{dec: dec, src: src}, nil
}

// OpenCiphertext is Open for a verify cap: the Reader yields the verified
// ciphertext (the repairer re-encodes it without ever holding the key).
func OpenCiphertext(ctx context.Context, b broker.Broker, v cap.Verifier, opts *Options) (*Reader, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	src, err := newSource(ctx, b, v, opts)
	if err != nil {
		return nil, err
	}
	dec, err := chk.NewCiphertextDecoder(v, src, src.decoderOptions())
	if err != nil {
		src.close()
		return nil, err
	}
	return &Reader{dec: dec, src: src}, nil
}

// Size returns the file size.
func (r *Reader) Size() int64 { return r.dec.Size() }

// Layout returns the file's share layout (it reads the UEB if needed).
func (r *Reader) Layout() (chk.Layout, error) { return r.dec.Layout() }

// ReadAt implements io.ReaderAt.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) { return r.dec.ReadAt(p, off) }

// WriteTo implements io.WriterTo: it streams the whole file.
func (r *Reader) WriteTo(w io.Writer) (int64, error) { return r.dec.WriteTo(w) }

// WriteRange streams length bytes from off (clipped to the file).
func (r *Reader) WriteRange(w io.Writer, off, length int64) (int64, error) {
	return r.dec.WriteRange(w, off, length)
}

// Corruptions lists the corrupt shares found so far and the server each
// came from; each was reported to its server.
func (r *Reader) Corruptions() []Corruption { return r.src.corruptions() }

// Close waits (briefly) for corruption reports to reach their servers and
// stops any share queries still running.
func (r *Reader) Close() error {
	r.src.close()
	return nil
}
