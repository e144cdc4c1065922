package gbs

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/communitycube/cube/server/grid/storage/wire"
)

// LeaseSecrets are the 32-byte lease renewal and cancellation secrets.
type LeaseSecrets struct {
	Renew  []byte
	Cancel []byte
}

func (l LeaseSecrets) headers() []secret {
	return []secret{{wire.LeaseRenewSecret, l.Renew}, {wire.LeaseCancelSecret, l.Cancel}}
}

// MutableSecrets authorize a read-test-write.
type MutableSecrets struct {
	WriteEnabler []byte
	Lease        LeaseSecrets
}

// UploadProgress reports the state of an immutable upload after a chunk.
type UploadProgress struct {
	// Finished is true once the whole share has been received and stored.
	Finished bool
	// Required lists the byte ranges still missing.
	Required []wire.ByteRange
}

// Version fetches the server's version message. The four feature flags the
// protocol guarantees are set in the result (the server does not send
// them).
func (c *Client) Version(ctx context.Context) (wire.Version, error) {
	cl := call{method: http.MethodGet, path: wire.PathVersion, idempotent: true}
	resp, err := c.expect(ctx, cl, http.StatusOK)
	if err != nil {
		return wire.Version{}, err
	}
	b, err := c.cborBody(cl, resp)
	if err != nil {
		return wire.Version{}, err
	}
	return wire.DecodeVersion(b)
}

// AddOrRenewLease renews the lease with the given renew secret on every
// share of si, or adds one where there is none. It fails with ErrNotFound
// if the server holds no shares for si.
func (c *Client) AddOrRenewLease(ctx context.Context, si wire.StorageIndex, lease LeaseSecrets) error {
	cl := call{method: http.MethodPut, path: wire.PathLease(si), secrets: lease.headers(), idempotent: true}
	resp, err := c.expect(ctx, cl, http.StatusNoContent)
	if err != nil {
		return err
	}
	discard(resp)
	return nil
}

// Allocate asks the server to accept immutable shares of allocatedSize
// bytes each. Shares the server already holds come back in AlreadyHave,
// shares it will accept in Allocated; the rest it has no room for. Calling
// it again with the same upload secret is harmless, so it is retried.
func (c *Client) Allocate(ctx context.Context, si wire.StorageIndex, shares []uint16, allocatedSize uint64, lease LeaseSecrets, uploadSecret []byte) (wire.AllocateResponse, error) {
	cl := call{
		method:      http.MethodPost,
		path:        wire.PathAllocate(si),
		secrets:     append(lease.headers(), secret{wire.UploadSecret, uploadSecret}),
		body:        wire.EncodeAllocateRequest(wire.AllocateRequest{ShareNumbers: shares, AllocatedSize: allocatedSize}),
		contentType: wire.MediaTypeCBOR,
		idempotent:  true,
	}
	resp, err := c.expect(ctx, cl, http.StatusOK)
	if err != nil {
		return wire.AllocateResponse{}, err
	}
	b, err := c.cborBody(cl, resp)
	if err != nil {
		return wire.AllocateResponse{}, err
	}
	return wire.DecodeAllocateResponse(b)
}

// WriteShareChunk uploads data at offset into an allocated immutable share.
// Resending identical data is harmless, so it is retried; different data
// for bytes already written fails with ErrConflict, after which the upload
// should be aborted.
func (c *Client) WriteShareChunk(ctx context.Context, si wire.StorageIndex, shnum uint16, uploadSecret []byte, offset uint64, data []byte) (UploadProgress, error) {
	if len(data) == 0 {
		return UploadProgress{}, fmt.Errorf("gbs: empty chunk")
	}
	cl := call{
		method:      http.MethodPatch,
		path:        wire.PathShare(wire.Immutable, si, shnum),
		secrets:     []secret{{wire.UploadSecret, uploadSecret}},
		body:        data,
		contentType: wire.MediaTypeOctet,
		header: map[string]string{
			"Content-Range": wire.FormatContentRange(wire.ByteRange{Begin: offset, End: offset + uint64(len(data))}, -1),
		},
		idempotent: true,
	}
	resp, err := c.expect(ctx, cl, http.StatusOK, http.StatusCreated)
	if err != nil {
		return UploadProgress{}, err
	}
	finished := resp.StatusCode == http.StatusCreated
	b, err := c.cborBody(cl, resp)
	if err != nil {
		return UploadProgress{}, err
	}
	p, err := wire.DecodeUploadProgress(b)
	if err != nil {
		return UploadProgress{}, err
	}
	return UploadProgress{Finished: finished, Required: p.Required}, nil
}

// WriteShare streams length bytes from r into an allocated immutable share
// starting at offset, in chunks of Options.ChunkSize, holding at most one
// chunk in memory. It returns the progress reported after the last chunk.
func (c *Client) WriteShare(ctx context.Context, si wire.StorageIndex, shnum uint16, uploadSecret []byte, offset uint64, r io.Reader, length uint64) (UploadProgress, error) {
	var p UploadProgress
	buf := make([]byte, min(uint64(c.opts.ChunkSize), max(length, 1)))
	for done := uint64(0); done < length; {
		n := min(uint64(len(buf)), length-done)
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return p, fmt.Errorf("gbs: reading share data at %d: %w", offset+done, err)
		}
		var err error
		if p, err = c.WriteShareChunk(ctx, si, shnum, uploadSecret, offset+done, buf[:n]); err != nil {
			return p, err
		}
		done += n
	}
	return p, nil
}

// AbortUpload cancels an in-progress immutable upload. It fails with
// ErrNotAllowed if the upload already completed.
func (c *Client) AbortUpload(ctx context.Context, si wire.StorageIndex, shnum uint16, uploadSecret []byte) error {
	cl := call{method: http.MethodPut, path: wire.PathAbort(si, shnum), secrets: []secret{{wire.UploadSecret, uploadSecret}}}
	resp, err := c.expect(ctx, cl, http.StatusOK)
	if err != nil {
		return err
	}
	discard(resp)
	return nil
}

// ListImmutableShares returns the immutable shares the server holds for si.
func (c *Client) ListImmutableShares(ctx context.Context, si wire.StorageIndex) ([]uint16, error) {
	return c.listShares(ctx, wire.Immutable, si)
}

// ListMutableShares returns the mutable shares the server holds for si.
func (c *Client) ListMutableShares(ctx context.Context, si wire.StorageIndex) ([]uint16, error) {
	return c.listShares(ctx, wire.Mutable, si)
}

func (c *Client) listShares(ctx context.Context, kind wire.ShareKind, si wire.StorageIndex) ([]uint16, error) {
	cl := call{method: http.MethodGet, path: wire.PathShares(kind, si), idempotent: true}
	resp, err := c.expect(ctx, cl, http.StatusOK)
	if err != nil {
		return nil, err
	}
	b, err := c.cborBody(cl, resp)
	if err != nil {
		return nil, err
	}
	return wire.DecodeShareList(b)
}

// ReadImmutableShare reads up to length bytes at offset from an immutable
// share. Reads past the end of the share return fewer bytes (none at all
// if offset is beyond it).
func (c *Client) ReadImmutableShare(ctx context.Context, si wire.StorageIndex, shnum uint16, offset, length uint64) ([]byte, error) {
	return c.readShare(ctx, wire.Immutable, si, shnum, offset, length)
}

// ReadMutableShare is ReadImmutableShare for mutable shares.
func (c *Client) ReadMutableShare(ctx context.Context, si wire.StorageIndex, shnum uint16, offset, length uint64) ([]byte, error) {
	return c.readShare(ctx, wire.Mutable, si, shnum, offset, length)
}

func (c *Client) readShare(ctx context.Context, kind wire.ShareKind, si wire.StorageIndex, shnum uint16, offset, length uint64) ([]byte, error) {
	// Size the buffer for the whole answer, but never trust length (chosen
	// by the caller, possibly from untrusted metadata) for a big allocation.
	buf := &sliceWriter{b: make([]byte, 0, min(length, maxPresize))}
	if _, err := c.ReadShareTo(ctx, kind, si, shnum, offset, length, buf); err != nil {
		return nil, err
	}
	return buf.b, nil
}

// maxPresize bounds the buffer allocated before a read's bytes arrive.
const maxPresize = 64 << 20

// sliceWriter collects a response in one slice, read into directly. Unlike
// bytes.Buffer, which grows (allocating and copying) once more when it is
// exactly full just to see the end, it probes for the end with a single
// spare byte: an exactly sized read costs one allocation and no copy.
type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *sliceWriter) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		if len(s.b) == cap(s.b) {
			var probe [1]byte
			n, err := r.Read(probe[:])
			s.b = append(s.b, probe[:n]...)
			total += int64(n)
			if err == io.EOF {
				return total, nil
			}
			if err != nil {
				return total, err
			}
			continue
		}
		n, err := r.Read(s.b[len(s.b):cap(s.b)])
		s.b = s.b[:len(s.b)+n]
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// ReadShareTo streams up to length bytes at offset of a share into w and
// returns how many were written. Only the request is retried; once data
// has started to flow, a failure is returned to the caller.
func (c *Client) ReadShareTo(ctx context.Context, kind wire.ShareKind, si wire.StorageIndex, shnum uint16, offset, length uint64, w io.Writer) (int64, error) {
	if length == 0 {
		return 0, nil
	}
	if offset >= wire.MaxOffset || length >= wire.MaxOffset {
		return 0, fmt.Errorf("gbs: read range too large")
	}
	cl := call{
		method:     http.MethodGet,
		path:       wire.PathShare(kind, si, shnum),
		header:     map[string]string{"Range": wire.FormatRange(offset, length)},
		idempotent: true,
	}
	resp, err := c.expect(ctx, cl, http.StatusPartialContent, http.StatusNoContent, http.StatusOK)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return 0, nil
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != wire.MediaTypeOctet {
		return 0, fmt.Errorf("gbs: %s %s: response is %q, not share data", cl.method, cl.path, resp.Header.Get("Content-Type"))
	}
	var body io.Reader = resp.Body
	want := int64(length)
	if resp.StatusCode == http.StatusOK {
		// The server ignored Range (legal HTTP, though no GBS server we
		// know does it): skip to offset and take at most length bytes.
		if _, err := io.CopyN(io.Discard, resp.Body, int64(offset)); err == io.EOF {
			return 0, nil
		} else if err != nil {
			return 0, err
		}
	} else {
		rng, _, err := wire.ParseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || rng.Begin != offset || rng.Len() > length {
			return 0, fmt.Errorf("gbs: %s %s: bad Content-Range %q for requested bytes %d+%d", cl.method, cl.path, resp.Header.Get("Content-Range"), offset, length)
		}
		want = int64(rng.Len())
	}
	n, err := io.Copy(w, io.LimitReader(body, want))
	if err != nil {
		return n, err
	}
	if resp.StatusCode == http.StatusPartialContent && n != want {
		// Most likely a mutable share changed under us.
		return n, fmt.Errorf("gbs: %s %s: got %d bytes, Content-Range promised %d", cl.method, cl.path, n, want)
	}
	return n, nil
}

// AdviseCorruptImmutable tells the server that an immutable share it served
// was corrupt.
func (c *Client) AdviseCorruptImmutable(ctx context.Context, si wire.StorageIndex, shnum uint16, reason string) error {
	return c.adviseCorrupt(ctx, wire.Immutable, si, shnum, reason)
}

// AdviseCorruptMutable tells the server that a mutable share it served was
// corrupt.
func (c *Client) AdviseCorruptMutable(ctx context.Context, si wire.StorageIndex, shnum uint16, reason string) error {
	return c.adviseCorrupt(ctx, wire.Mutable, si, shnum, reason)
}

func (c *Client) adviseCorrupt(ctx context.Context, kind wire.ShareKind, si wire.StorageIndex, shnum uint16, reason string) error {
	if len(reason) > wire.MaxReasonLength {
		reason = reason[:wire.MaxReasonLength]
	}
	cl := call{
		method:      http.MethodPost,
		path:        wire.PathCorrupt(kind, si, shnum),
		body:        wire.EncodeCorruptionAdvice(wire.CorruptionAdvice{Reason: reason}),
		contentType: wire.MediaTypeCBOR,
	}
	resp, err := c.expect(ctx, cl, http.StatusOK)
	if err != nil {
		return err
	}
	discard(resp)
	return nil
}

// ReadTestWrite performs a mutable read-test-and-write. If every test
// vector matches, the writes are applied and Success is true; Data holds
// the read vector's results for every share the server held beforehand.
// It is never retried automatically: after a lost response, a repeat could
// see its own writes and fail its tests.
func (c *Client) ReadTestWrite(ctx context.Context, si wire.StorageIndex, sec MutableSecrets, tw map[uint16]wire.TestWriteVectors, reads []wire.ReadVector) (wire.ReadTestWriteResponse, error) {
	cl := call{
		method:      http.MethodPost,
		path:        wire.PathReadTestWrite(si),
		secrets:     append(sec.Lease.headers(), secret{wire.WriteEnabler, sec.WriteEnabler}),
		body:        wire.EncodeReadTestWriteRequest(wire.ReadTestWriteRequest{TestWriteVectors: tw, ReadVector: reads}),
		contentType: wire.MediaTypeCBOR,
	}
	resp, err := c.expect(ctx, cl, http.StatusOK)
	if err != nil {
		return wire.ReadTestWriteResponse{}, err
	}
	b, err := c.cborBody(cl, resp)
	if err != nil {
		return wire.ReadTestWriteResponse{}, err
	}
	return wire.DecodeReadTestWriteResponse(b)
}
