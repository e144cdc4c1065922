package storage

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/communitycube/cube/server/grid/storage/container"
	"github.com/communitycube/cube/server/grid/storage/wire"
)

// copyBufSize is the unit in which chunk bodies are streamed to disk; a
// PATCH never holds more than two such buffers in memory, whatever its size.
const copyBufSize = 64 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 2*copyBufSize); return &b }}

type uploadState int

const (
	uploadActive uploadState = iota
	uploadDone
	uploadAborted
)

// upload is an in-progress immutable share upload. Like Tahoe's, upload
// state lives only in memory: after a restart the incoming container is
// deleted and the client has to allocate again.
type upload struct {
	key    shareKey
	secret []byte
	size   uint64

	// mu is held for the whole of a PATCH, so chunk writes to one share
	// are serialized and conflict checks see every acknowledged byte.
	mu      sync.Mutex
	state   uploadState
	inc     Incoming
	c       *container.Immutable
	written rangeSet // synced ranges, i.e. acknowledged to a client

	// Read without mu by space accounting and the idle reaper.
	writtenBytes atomic.Uint64
	lastActive   atomic.Int64 // Unix nanoseconds
}

func (u *upload) pending() int64 { return int64(u.size - u.writtenBytes.Load()) }

func (u *upload) touch(t time.Time) { u.lastActive.Store(t.UnixNano()) }

func (u *upload) idleSince() time.Time { return time.Unix(0, u.lastActive.Load()) }

// abort discards the incoming container. Callers hold u.mu.
func (u *upload) abort() {
	if u.state == uploadActive {
		u.inc.Abort()
		u.state = uploadAborted
	}
}

// completedUpload remembers a finished upload for a while so that a client
// retrying a final chunk whose response was lost gets 201 instead of 404.
type completedUpload struct {
	secret []byte
	size   uint64
	at     time.Time
}

func secretEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// preallocator is a container that can reserve its space up front.
type preallocator interface{ Preallocate(size int64) error }

func (s *Server) handleAllocate(w http.ResponseWriter, r *http.Request, rq *request) error {
	body, err := readCBOR(w, r, wire.MaxAllocateRequestSize)
	if err != nil {
		return err
	}
	req, err := wire.DecodeAllocateRequest(body)
	if err != nil {
		return badRequest(err)
	}
	if req.AllocatedSize == 0 {
		return errorf(http.StatusBadRequest, "allocated-size must be positive")
	}
	resp, err := s.allocate(rq.si, req, rq.secrets)
	if err != nil {
		return err
	}
	return writeCBOR(w, r, http.StatusOK, wire.EncodeAllocateResponse(resp))
}

// allocate creates incoming containers for the requested shares that the
// server does not already hold and has room for. As in Tahoe, shares that
// do not fit are silently left out of "allocated" (the client then places
// them elsewhere), every existing share is reported in "already-have", and
// existing immutable shares get their lease added or renewed. Repeating a
// request with the same upload secret reports in-progress uploads as
// allocated again without changing anything, so retries are safe.
func (s *Server) allocate(si wire.StorageIndex, req wire.AllocateRequest, sec wire.Secrets) (wire.AllocateResponse, error) {
	resp := wire.AllocateResponse{AlreadyHave: []uint16{}, Allocated: []uint16{}}
	unlock := s.lockSI(si)
	defer unlock()
	s.reapIdleUploads()

	existing, err := s.backend.List(si)
	if err != nil {
		return resp, err
	}
	have := map[uint16]bool{}
	for _, sh := range existing {
		have[sh] = true
		resp.AlreadyHave = append(resp.AlreadyHave, sh)
		o, err := s.openShare(si, sh)
		if err != nil {
			s.log.Warn("cannot open existing share", "si", si.String(), "shnum", sh, "err", err)
			continue
		}
		if o.kind == container.KindImmutable {
			if err := s.renewOpened(si, sh, o, s.leaseRequest(sec[wire.LeaseRenewSecret], sec[wire.LeaseCancelSecret], 0)); err != nil {
				o.close()
				return resp, err
			}
		}
		o.close()
	}

	space := s.allocatable()
	size := req.AllocatedSize
	fits := !s.cfg.ReadOnly &&
		(s.cfg.MaxImmutableShareSize <= 0 || size <= uint64(s.cfg.MaxImmutableShareSize))
	for _, sh := range req.ShareNumbers {
		if have[sh] {
			continue
		}
		key := shareKey{si, sh}
		s.mu.Lock()
		up, closed := s.uploads[key], s.closed
		s.mu.Unlock()
		if closed {
			return resp, errorf(http.StatusServiceUnavailable, "server is shutting down")
		}
		if up != nil {
			if secretEqual(up.secret, sec[wire.UploadSecret]) && up.size == size {
				resp.Allocated = append(resp.Allocated, sh)
			}
			continue
		}
		if !fits || size > uint64(space) {
			continue
		}
		inc, err := s.backend.CreateIncoming(si, sh)
		if errors.Is(err, ErrExists) {
			continue
		}
		if err != nil {
			return resp, err
		}
		if pa, ok := inc.(preallocator); ok {
			// The share's data plus its header and one lease: writing into
			// reserved blocks is far cheaper than growing the file.
			if err := pa.Preallocate(int64(size) + container.ImmutableHeaderSize + container.ImmutableLeaseSize); err != nil {
				inc.Abort()
				return resp, err
			}
		}
		c, err := container.CreateImmutable(inc, int64(size), s.leaseRequest(sec[wire.LeaseRenewSecret], sec[wire.LeaseCancelSecret], 0))
		if err == nil {
			err = inc.Sync()
		}
		if err != nil {
			inc.Abort()
			return resp, err
		}
		up = &upload{key: key, secret: bytes.Clone(sec[wire.UploadSecret]), size: size, inc: inc, c: c}
		up.touch(s.now())
		s.mu.Lock()
		s.uploads[key] = up
		delete(s.completed, key)
		s.mu.Unlock()
		space -= int64(size)
		resp.Allocated = append(resp.Allocated, sh)
	}
	return resp, nil
}

func (s *Server) handleWrite(w http.ResponseWriter, r *http.Request, rq *request) error {
	cr, _, err := wire.ParseContentRange(r.Header.Get("Content-Range"))
	if err != nil {
		return errorf(http.StatusRequestedRangeNotSatisfiable, "need a Content-Range of the form \"bytes first-last/total\"")
	}
	if r.ContentLength >= 0 && uint64(r.ContentLength) != cr.Len() {
		return errorf(http.StatusBadRequest, "Content-Length does not match Content-Range")
	}
	missing, done, err := s.writeChunk(rq.si, rq.shnum, rq.secrets[wire.UploadSecret], cr, r.Body)
	if err != nil {
		return err
	}
	code := http.StatusOK
	if done {
		code = http.StatusCreated
	}
	return writeCBOR(w, r, code, wire.EncodeUploadProgress(wire.UploadProgress{Required: missing}))
}

// writeChunk streams one chunk into an upload. Data overlapping bytes
// already acknowledged must be identical (409 otherwise). The chunk is
// synced before it counts as written, and the share is published when the
// last missing byte arrives.
func (s *Server) writeChunk(si wire.StorageIndex, shnum uint16, secret []byte, cr wire.ByteRange, body io.Reader) ([]wire.ByteRange, bool, error) {
	key := shareKey{si, shnum}
	s.mu.Lock()
	up := s.uploads[key]
	s.mu.Unlock()
	if up == nil {
		return s.rewriteCompleted(key, secret, cr, body)
	}
	if !secretEqual(up.secret, secret) {
		return nil, false, errorf(http.StatusUnauthorized, "wrong upload secret")
	}
	if cr.End > up.size {
		return nil, false, errorf(http.StatusRequestedRangeNotSatisfiable, "range ends beyond the allocated size %d", up.size)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	switch up.state {
	case uploadDone:
		return s.rewriteCompleted(key, secret, cr, body)
	case uploadAborted:
		return nil, false, errorf(http.StatusNotFound, "upload was aborted")
	}

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf, cmp := (*bp)[:copyBufSize], (*bp)[copyBufSize:]
	for off := cr.Begin; off < cr.End; {
		n := min(uint64(len(buf)), cr.End-off)
		if _, err := io.ReadFull(body, buf[:n]); err != nil {
			return nil, false, errorf(http.StatusBadRequest, "request body shorter than Content-Range")
		}
		for _, o := range up.written.overlaps(wire.ByteRange{Begin: off, End: off + n}) {
			old := cmp[:o.Len()]
			if _, err := up.c.ReadData(old, int64(o.Begin)); err != nil && err != io.EOF {
				return nil, false, err
			}
			if !bytes.Equal(old, buf[o.Begin-off:o.End-off]) {
				return nil, false, errorf(http.StatusConflict, "bytes %d-%d differ from data already written", o.Begin, o.End-1)
			}
		}
		if err := up.c.WriteData(buf[:n], int64(off)); err != nil {
			return nil, false, err
		}
		off += n
	}
	if err := expectEOF(body); err != nil {
		return nil, false, err
	}
	if err := up.inc.Sync(); err != nil {
		return nil, false, err
	}
	up.written.add(cr)
	up.writtenBytes.Store(up.written.total())
	up.touch(s.now())
	if missing := up.written.missing(up.size); len(missing) > 0 {
		return missing, false, nil
	}
	if err := s.finishUpload(up); err != nil {
		return nil, false, err
	}
	return []wire.ByteRange{}, true, nil
}

func expectEOF(body io.Reader) error {
	var one [1]byte
	n, err := io.ReadFull(body, one[:])
	if n > 0 {
		return errorf(http.StatusBadRequest, "request body longer than Content-Range")
	}
	if err != io.EOF {
		return errorf(http.StatusBadRequest, "reading request body: %v", err)
	}
	return nil
}

// finishUpload publishes a complete share. Callers hold up.mu.
func (s *Server) finishUpload(up *upload) error {
	leases, err := up.c.Leases()
	if err != nil {
		return err
	}
	unlock := s.lockSI(up.key.si)
	err = up.inc.Commit()
	if err == nil {
		s.indexPut(up.key.si, up.key.shnum, false, leases)
	}
	unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uploads[up.key] == up {
		delete(s.uploads, up.key)
	}
	if err != nil {
		up.state = uploadAborted
		if errors.Is(err, ErrExists) {
			return errorf(http.StatusConflict, "share was stored by another upload")
		}
		return err
	}
	up.state = uploadDone
	s.completed[up.key] = completedUpload{secret: up.secret, size: up.size, at: s.now()}
	s.log.Info("immutable share stored", "si", up.key.si.String(), "shnum", up.key.shnum, "size", up.size)
	return nil
}

// rewriteCompleted handles a chunk for a share whose upload already
// finished: with the right secret and identical data it is an idempotent
// retry (201); different data is a conflict; anything else is 404.
func (s *Server) rewriteCompleted(key shareKey, secret []byte, cr wire.ByteRange, body io.Reader) ([]wire.ByteRange, bool, error) {
	s.mu.Lock()
	done, ok := s.completed[key]
	s.mu.Unlock()
	if !ok {
		return nil, false, errorf(http.StatusNotFound, "no upload in progress for this share")
	}
	if !secretEqual(done.secret, secret) {
		return nil, false, errorf(http.StatusUnauthorized, "wrong upload secret")
	}
	if cr.End > done.size {
		return nil, false, errorf(http.StatusRequestedRangeNotSatisfiable, "range ends beyond the share size %d", done.size)
	}
	sh, err := s.openShare(key.si, key.shnum)
	if err != nil {
		return nil, false, err
	}
	defer sh.close()
	if sh.kind != container.KindImmutable {
		return nil, false, errorf(http.StatusConflict, "share is not immutable")
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf, cmp := (*bp)[:copyBufSize], (*bp)[copyBufSize:]
	for off := cr.Begin; off < cr.End; {
		n := min(uint64(len(buf)), cr.End-off)
		if _, err := io.ReadFull(body, buf[:n]); err != nil {
			return nil, false, errorf(http.StatusBadRequest, "request body shorter than Content-Range")
		}
		if _, err := sh.imm.ReadData(cmp[:n], int64(off)); err != nil && err != io.EOF {
			return nil, false, err
		}
		if !bytes.Equal(cmp[:n], buf[:n]) {
			return nil, false, errorf(http.StatusConflict, "data differs from the stored share")
		}
		off += n
	}
	if err := expectEOF(body); err != nil {
		return nil, false, err
	}
	return []wire.ByteRange{}, true, nil
}

func (s *Server) handleAbort(w http.ResponseWriter, r *http.Request, rq *request) error {
	key := shareKey{rq.si, rq.shnum}
	s.mu.Lock()
	up := s.uploads[key]
	_, completed := s.completed[key]
	s.mu.Unlock()
	if up == nil {
		if !completed {
			if c, err := s.backend.Open(rq.si, rq.shnum); err == nil {
				c.Close()
				completed = true
			}
		}
		if completed {
			return errorf(http.StatusMethodNotAllowed, "upload already completed")
		}
		return errorf(http.StatusNotFound, "no upload in progress for this share")
	}
	if !secretEqual(up.secret, rq.secrets[wire.UploadSecret]) {
		return errorf(http.StatusUnauthorized, "wrong upload secret")
	}
	up.mu.Lock()
	state := up.state
	up.abort()
	up.mu.Unlock()
	switch state {
	case uploadDone:
		return errorf(http.StatusMethodNotAllowed, "upload already completed")
	case uploadAborted:
		return errorf(http.StatusNotFound, "upload was aborted")
	}
	s.mu.Lock()
	if s.uploads[key] == up {
		delete(s.uploads, key)
	}
	s.mu.Unlock()
	s.log.Info("immutable upload aborted by client", "si", rq.si.String(), "shnum", rq.shnum)
	w.WriteHeader(http.StatusOK)
	return nil
}

// reapIdleUploads aborts uploads idle for longer than the upload timeout
// and forgets old completed uploads. It runs on allocation and on every
// expirer pass, so abandoned uploads cannot hold space indefinitely.
func (s *Server) reapIdleUploads() {
	cutoff := s.now().Add(-s.cfg.UploadTimeout)
	var stale []*upload
	s.mu.Lock()
	for _, u := range s.uploads {
		if u.idleSince().Before(cutoff) {
			stale = append(stale, u)
		}
	}
	for k, c := range s.completed {
		if c.at.Before(cutoff) {
			delete(s.completed, k)
		}
	}
	s.mu.Unlock()
	for _, u := range stale {
		if !u.mu.TryLock() {
			continue // a chunk is being written right now: not idle
		}
		if u.state == uploadActive && u.idleSince().Before(cutoff) {
			u.abort()
			s.mu.Lock()
			if s.uploads[u.key] == u {
				delete(s.uploads, u.key)
			}
			s.mu.Unlock()
			s.log.Info("immutable upload timed out", "si", u.key.si.String(), "shnum", u.key.shnum)
		}
		u.mu.Unlock()
	}
}
