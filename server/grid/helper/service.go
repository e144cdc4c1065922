package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/hashtree"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxFileSize     = 64 << 30
	DefaultMaxSessions     = 64
	DefaultMaxPlacing      = 2
	DefaultMaxSegmentSize  = 8 << 20
	DefaultMaxChunkSize    = 64 << 20
	DefaultIdleTimeout     = 7 * 24 * time.Hour
	DefaultResultRetention = 24 * time.Hour
)

// Config configures a Service.
type Config struct {
	// Dir is the staging directory, used by this service alone. Required;
	// created if missing. Sessions found in it are resumed.
	Dir string
	// Placer encodes and places finished uploads. Required.
	Placer Placer
	// Checker, if set, is asked before a new session is opened whether the
	// file is already on the grid.
	Checker Checker

	// MaxFileSize is the largest upload accepted (default
	// DefaultMaxFileSize).
	MaxFileSize int64
	// MaxSessions bounds the sessions open at once (default
	// DefaultMaxSessions); beyond it Begin fails with ErrBusy.
	MaxSessions int
	// MaxPlacing bounds the placements running at once (default
	// DefaultMaxPlacing); encoding is CPU-bound, so more would only queue
	// in the scheduler. Finish calls beyond it wait their turn.
	MaxPlacing int
	// MaxSegmentSize bounds the effective segment size an upload may use
	// (default DefaultMaxSegmentSize): the encoder holds about
	// segment·n/k bytes per placement.
	MaxSegmentSize int64
	// MaxChunkSize bounds one WriteChunk (default DefaultMaxChunkSize), so
	// that one slow request cannot hold a session for long.
	MaxChunkSize int64
	// MaxStagingBytes, if positive, bounds the sum of the sizes of the open
	// sessions.
	MaxStagingBytes int64
	// ReservedSpace is kept free on the staging file system: a session is
	// accepted only if its remaining bytes, and those of every other open
	// session, fit without eating into it.
	ReservedSpace int64
	// IdleTimeout is how long a session may go without a chunk or a begin
	// before it is deleted (default DefaultIdleTimeout).
	IdleTimeout time.Duration
	// ResultRetention is how long a finished upload's result is remembered
	// for retried finish and begin calls (default DefaultResultRetention).
	ResultRetention time.Duration
	// SweepInterval is how often idle sessions and old results are looked
	// for; 0 derives it from IdleTimeout and ResultRetention, and a
	// negative value disables the background sweep (call Sweep yourself).
	SweepInterval time.Duration
	// DiskAvailable reports the free bytes of the file system holding dir;
	// nil asks the operating system.
	DiskAvailable func(dir string) (int64, error)
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger
}

// Service holds the upload sessions of a helper. It is safe for concurrent
// use. Its methods know nothing of HTTP or of who is asking: callers
// authorise first.
//
// Sessions are keyed by storage index. Two uploaders of the same
// convergently encrypted file (same key, so same storage index and same
// ciphertext) share one session, as they do in Tahoe.
type Service struct {
	cfg     Config
	dir     string
	placer  Placer
	checker Checker
	log     *slog.Logger
	now     func() time.Time
	avail   func(string) (int64, error)

	ctx      context.Context // cancelled by Close; placements run under it
	cancel   context.CancelFunc
	wg       sync.WaitGroup // operations and placements in flight
	placeSem chan struct{}
	stop     chan struct{}
	swept    chan struct{} // closed when the sweeper has exited

	// fault, set by tests, is called before each staging write of n bytes
	// at off; if it returns an error, only the first k bytes are written
	// and the write fails with that error.
	fault atomic.Pointer[func(off int64, n int) (k int, err error)]

	mu       sync.Mutex
	sessions map[wire.StorageIndex]*session
	results  map[wire.StorageIndex]*doneRecord
	closed   bool
}

// session is one upload in progress.
type session struct {
	si wire.StorageIndex

	// lock is held by whoever writes to the files: a chunk, the hash
	// check, a placement, a removal. A channel rather than a mutex so
	// that waiting for it can be abandoned when a context ends.
	lock chan struct{}

	// Guarded by lock.
	data   *os.File
	ack    *os.File
	ackSeq uint64
	hasher *hashtree.Hasher // crypttext hash of data[:hashed]; nil: recompute at finish
	hashed int64

	// Guarded by Service.mu.
	spec       Spec
	held       int64
	state      State
	lastActive time.Time
	lastErr    string
	placing    *placement
	removed    bool
}

// placement is a running Placer call that finish requests wait on.
type placement struct {
	done   chan struct{}
	placed *Placed
	err    error
}

func (ss *session) acquire(ctx context.Context) error {
	select {
	case ss.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (ss *session) tryAcquire() bool {
	select {
	case ss.lock <- struct{}{}:
		return true
	default:
		return false
	}
}

func (ss *session) release() { <-ss.lock }

func (ss *session) closeFiles() {
	if ss.data != nil {
		ss.data.Close()
	}
	if ss.ack != nil {
		ss.ack.Close()
	}
}

// status must be called with Service.mu held.
func (ss *session) status() Status {
	return Status{State: ss.state, Size: ss.spec.Size, Received: ss.held, LastError: ss.lastErr}
}

func storedStatus(p *Placed) Status {
	size := p.VerifyCap.Size
	return Status{State: StateStored, Size: size, Received: size, Result: p.clone()}
}

// New opens the staging directory, resumes the sessions it holds and starts
// the background sweep. Call Close when done.
func New(cfg Config) (*Service, error) {
	if cfg.Dir == "" || cfg.Placer == nil {
		return nil, errors.New("helper: Config needs Dir and Placer")
	}
	setDefault(&cfg.MaxFileSize, DefaultMaxFileSize)
	setDefault(&cfg.MaxSessions, DefaultMaxSessions)
	setDefault(&cfg.MaxPlacing, DefaultMaxPlacing)
	setDefault(&cfg.MaxSegmentSize, DefaultMaxSegmentSize)
	setDefault(&cfg.MaxChunkSize, DefaultMaxChunkSize)
	setDefault(&cfg.IdleTimeout, DefaultIdleTimeout)
	setDefault(&cfg.ResultRetention, DefaultResultRetention)
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = min(max(min(cfg.IdleTimeout, cfg.ResultRetention)/8, time.Minute), time.Hour)
	}
	s := &Service{
		cfg:      cfg,
		dir:      cfg.Dir,
		placer:   cfg.Placer,
		checker:  cfg.Checker,
		log:      cfg.Logger,
		now:      cfg.Clock,
		avail:    cfg.DiskAvailable,
		placeSem: make(chan struct{}, cfg.MaxPlacing),
		stop:     make(chan struct{}),
		swept:    make(chan struct{}),
		sessions: map[wire.StorageIndex]*session{},
		results:  map[wire.StorageIndex]*doneRecord{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.avail == nil {
		s.avail = diskAvailable
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("helper: staging directory: %w", err)
	}
	if err := s.load(); err != nil {
		s.closeAll()
		return nil, fmt.Errorf("helper: reading staging directory: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.SweepInterval > 0 {
		go s.sweeper(cfg.SweepInterval)
	} else {
		close(s.swept)
	}
	return s, nil
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// load rebuilds the sessions and results from the staging directory.
func (s *Service) load() error {
	specs, done, others, err := s.scan()
	if err != nil {
		return err
	}
	for si := range done {
		b, err := os.ReadFile(s.path(si, extDone))
		var rec doneRecord
		if err == nil {
			rec, err = decodeDone(b)
		}
		if err != nil {
			s.log.Error("helper: dropping unreadable result", "si", si.String(), "err", err)
			s.removeFiles(si, extDone)
			continue
		}
		s.results[si] = &rec
		// A crash between recording the result and deleting the staged
		// ciphertext leaves both; the result wins.
		s.removeFiles(si, extSpec, extData, extAck)
		delete(specs, si)
	}
	for si := range specs {
		ss, err := s.loadSession(si)
		if err != nil {
			s.log.Error("helper: dropping unreadable session", "si", si.String(), "err", err)
			s.removeFiles(si, extSpec, extData, extAck)
			continue
		}
		s.sessions[si] = ss
	}
	for si := range others {
		if !specs[si] {
			// Files of a session whose creation did not complete, or
			// whose deletion was interrupted.
			s.removeFiles(si, extData, extAck)
		}
	}
	return nil
}

func (s *Service) loadSession(si wire.StorageIndex) (*session, error) {
	b, err := os.ReadFile(s.path(si, extSpec))
	if err != nil {
		return nil, err
	}
	spec, err := decodeSpec(b)
	if err != nil {
		return nil, err
	}
	if err := spec.Params.Validate(spec.Size); err != nil {
		return nil, err
	}
	ss := &session{si: si, spec: spec, lock: make(chan struct{}, 1), state: StateReceiving}
	if ss.data, err = os.OpenFile(s.path(si, extData), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, err
	}
	if ss.ack, err = os.OpenFile(s.path(si, extAck), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		ss.closeFiles()
		return nil, err
	}
	seq, acked, err := readAck(ss.ack)
	if err != nil {
		ss.closeFiles()
		return nil, err
	}
	fi, err := ss.data.Stat()
	if err != nil {
		ss.closeFiles()
		return nil, err
	}
	ss.ackSeq = seq
	ss.held = min(acked, spec.Size)
	if fi.Size() < ss.held {
		// Cannot happen unless the file system lost synced data.
		s.log.Error("helper: staged ciphertext shorter than acknowledged", "si", si.String(), "acked", ss.held, "have", fi.Size())
		ss.held = fi.Size()
	}
	if fi.Size() > ss.held {
		// Bytes written but never acknowledged: not trusted.
		if err := ss.data.Truncate(ss.held); err != nil {
			ss.closeFiles()
			return nil, err
		}
	}
	ss.lastActive = fi.ModTime()
	if now := s.now(); ss.lastActive.After(now) {
		ss.lastActive = now
	}
	return ss, nil
}

// enter registers an operation, so that Close waits for it.
func (s *Service) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%w: the helper is shutting down", ErrBusy)
	}
	s.wg.Add(1)
	return nil
}

func (s *Service) leave() { s.wg.Done() }

// validate judges a Spec against the format and this helper's limits.
func (s *Service) validate(spec Spec) error {
	switch {
	case spec.Size <= chk.LiteralThreshold:
		return fmt.Errorf("%w: a file of at most %d bytes is a LIT cap; it is not uploaded", ErrInvalid, chk.LiteralThreshold)
	case spec.Size > s.cfg.MaxFileSize:
		return fmt.Errorf("%w: %d bytes exceeds this helper's limit of %d", ErrTooLarge, spec.Size, s.cfg.MaxFileSize)
	}
	if err := spec.Params.Validate(spec.Size); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if seg := spec.Params.CHK().SegmentSize(spec.Size); seg > s.cfg.MaxSegmentSize {
		return fmt.Errorf("%w: segment size %d exceeds this helper's limit of %d", ErrInvalid, seg, s.cfg.MaxSegmentSize)
	}
	return nil
}

func sameUpload(a, b Spec) bool { return a.Size == b.Size && a.Params == b.Params }

// Begin opens an upload session for si, or resumes the existing one, and
// says how many bytes are already held. If the file is already stored (a
// result remembered from a recent upload, or the Checker finds it on the
// grid), the status is StateStored with the result, and nothing needs
// sending.
//
// A session that exists with another size or other parameters is a
// conflict. A crypttext hash given now for a session begun without one is
// adopted; a different one is a conflict.
func (s *Service) Begin(ctx context.Context, si wire.StorageIndex, spec Spec) (Status, error) {
	if err := s.validate(spec); err != nil {
		return Status{}, err
	}
	if err := s.enter(); err != nil {
		return Status{}, err
	}
	defer s.leave()
	for {
		st, ok, err := s.resume(ctx, si, spec)
		if ok || err != nil {
			return st, err
		}
		if s.checker != nil {
			p, found, err := s.checker.AlreadyStored(ctx, si)
			switch {
			case err != nil && ctx.Err() != nil:
				return Status{}, ctx.Err()
			case err != nil:
				// The check only saves work; an upload is still correct.
				s.log.Warn("helper: checking the grid failed; uploading", "si", si.String(), "err", err)
			case found:
				if err := p.check(si, spec); err != nil {
					return Status{}, fmt.Errorf("%w: the grid holds a different file under this storage index: %v", ErrConflict, err)
				}
				return storedStatus(p), nil
			}
		}
		st, created, err := s.create(si, spec)
		if created || err != nil {
			return st, err
		}
		// Another Begin created the session meanwhile: resume it.
	}
}

// resume handles Begin for a storage index that has a session or a
// result; ok is false if it has neither.
func (s *Service) resume(ctx context.Context, si wire.StorageIndex, spec Spec) (st Status, ok bool, err error) {
	for {
		s.mu.Lock()
		if r := s.results[si]; r != nil {
			s.mu.Unlock()
			if err := r.placed.check(si, spec); err != nil {
				return Status{}, true, fmt.Errorf("%w: a different file was stored under this storage index: %v", ErrConflict, err)
			}
			return storedStatus(r.placed), true, nil
		}
		ss := s.sessions[si]
		if ss == nil {
			s.mu.Unlock()
			return Status{}, false, nil
		}
		if !sameUpload(ss.spec, spec) {
			have := ss.spec
			s.mu.Unlock()
			return Status{}, true, fmt.Errorf("%w: the upload in progress has size=%d k=%d happy=%d n=%d max-segment-size=%d",
				ErrConflict, have.Size, have.Params.K, have.Params.Happy, have.Params.N, have.Params.MaxSegmentSize)
		}
		old := ss.spec.CrypttextHash
		if spec.CrypttextHash != nil && old != nil && *old != *spec.CrypttextHash {
			s.mu.Unlock()
			return Status{}, true, fmt.Errorf("%w: the upload in progress was begun with another crypttext hash", ErrConflict)
		}
		if spec.CrypttextHash == nil || old != nil {
			ss.lastActive = s.now()
			st := ss.status()
			s.mu.Unlock()
			return st, true, nil
		}
		s.mu.Unlock()

		// Adopt the hash: rewrite the session record under the lock.
		if err := ss.acquire(ctx); err != nil {
			return Status{}, true, err
		}
		s.mu.Lock()
		if ss.removed || ss.spec.CrypttextHash != nil {
			s.mu.Unlock()
			ss.release()
			continue // look again
		}
		ns := ss.spec
		ns.CrypttextHash = spec.CrypttextHash
		s.mu.Unlock()
		if err := writeFileAtomic(s.path(si, extSpec), encodeSpec(ns)); err != nil {
			ss.release()
			return Status{}, true, stagingErr(err)
		}
		s.mu.Lock()
		ss.spec = ns
		ss.lastActive = s.now()
		st := ss.status()
		s.mu.Unlock()
		ss.hasher = nil // it was not tracking; finish hashes the file
		ss.release()
		return st, true, nil
	}
}

// create opens a new session; created is false if one appeared meanwhile.
func (s *Service) create(si wire.StorageIndex, spec Spec) (st Status, created bool, err error) {
	s.mu.Lock()
	if s.results[si] != nil || s.sessions[si] != nil {
		s.mu.Unlock()
		return Status{}, false, nil
	}
	if len(s.sessions) >= s.cfg.MaxSessions {
		s.mu.Unlock()
		return Status{}, false, fmt.Errorf("%w: %d uploads in progress", ErrBusy, s.cfg.MaxSessions)
	}
	if err := s.checkSpace(spec.Size); err != nil {
		s.mu.Unlock()
		return Status{}, false, err
	}
	ss := &session{si: si, spec: spec, lock: make(chan struct{}, 1), state: StateReceiving, lastActive: s.now()}
	ss.lock <- struct{}{} // held until the files exist
	s.sessions[si] = ss
	s.mu.Unlock()

	err = s.createFiles(ss)
	s.mu.Lock()
	if err != nil {
		delete(s.sessions, si)
		ss.removed = true
	}
	st = ss.status()
	s.mu.Unlock()
	if err != nil {
		ss.closeFiles()
		s.removeFiles(si, extSpec, extData, extAck)
		ss.release()
		return Status{}, false, stagingErr(err)
	}
	if spec.CrypttextHash != nil {
		ss.hasher = NewCrypttextHasher()
	}
	ss.release()
	s.log.Info("helper: upload begun", "si", si.String(), "size", spec.Size)
	return st, true, nil
}

// createFiles creates the data and ack files, then the spec file, whose
// appearance makes the session exist on disk.
func (s *Service) createFiles(ss *session) error {
	var err error
	if ss.data, err = os.OpenFile(s.path(ss.si, extData), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
		return err
	}
	if ss.ack, err = os.OpenFile(s.path(ss.si, extAck), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
		return err
	}
	if err := writeAck(ss.ack, 0, 0); err != nil {
		return err
	}
	return writeFileAtomic(s.path(ss.si, extSpec), encodeSpec(ss.spec))
}

// checkSpace refuses a new session of size bytes that would not fit. Call
// with s.mu held.
func (s *Service) checkSpace(size int64) error {
	var committed, pending int64
	for _, o := range s.sessions {
		committed += o.spec.Size
		pending += o.spec.Size - o.held
	}
	if lim := s.cfg.MaxStagingBytes; lim > 0 && committed+size > lim {
		return fmt.Errorf("%w: %d bytes would exceed the staging limit of %d (%d committed to other uploads)",
			ErrInsufficientStorage, size, lim, committed)
	}
	avail, err := s.avail(s.dir)
	if err != nil {
		return fmt.Errorf("helper: free space of the staging directory: %w", err)
	}
	if need := size + pending + s.cfg.ReservedSpace; avail < need {
		return fmt.Errorf("%w: %d bytes needed (this upload, those in progress and the reserve), %d available",
			ErrInsufficientStorage, need, avail)
	}
	return nil
}

// lockSession finds si's session and acquires it. A session being placed
// is reported at once rather than waited for.
func (s *Service) lockSession(ctx context.Context, si wire.StorageIndex) (*session, error) {
	s.mu.Lock()
	ss := s.sessions[si]
	_, stored := s.results[si]
	placing := ss != nil && ss.placing != nil
	s.mu.Unlock()
	switch {
	case stored:
		return nil, fmt.Errorf("%w: the upload is finished", ErrConflict)
	case ss == nil:
		return nil, ErrNotFound
	case placing:
		return nil, fmt.Errorf("%w: the upload is being placed", ErrConflict)
	}
	if err := ss.acquire(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	removed := ss.removed
	_, stored = s.results[si]
	s.mu.Unlock()
	if removed {
		ss.release()
		if stored {
			return nil, fmt.Errorf("%w: the upload is finished", ErrConflict)
		}
		return nil, ErrNotFound
	}
	return ss, nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// WriteChunk stores n bytes of ciphertext read from r at offset off. Writes
// are append-only: off may not be beyond the bytes held (ErrRange, a gap),
// and the part of the chunk that overlaps bytes already held must equal
// them (ErrConflict otherwise), which makes resending a chunk harmless.
// Chunks of one session are serialised.
//
// New bytes are synced to disk before WriteChunk returns, so an
// acknowledged chunk survives a crash. If r fails part way (the uploader's
// connection dropped), the bytes that did arrive are kept and acknowledged
// too: the transport authenticated them, and the uploader learns the
// offset to go on from at its next Begin.
func (s *Service) WriteChunk(ctx context.Context, si wire.StorageIndex, off int64, r io.Reader, n int64) (Status, error) {
	if off < 0 || n < 0 {
		return Status{}, fmt.Errorf("%w: negative offset or length", ErrInvalid)
	}
	if n > s.cfg.MaxChunkSize {
		return Status{}, fmt.Errorf("%w: chunk of %d bytes exceeds the limit of %d", ErrTooLarge, n, s.cfg.MaxChunkSize)
	}
	if err := s.enter(); err != nil {
		return Status{}, err
	}
	defer s.leave()
	ss, err := s.lockSession(ctx, si)
	if err != nil {
		return Status{}, err
	}
	defer ss.release()

	s.mu.Lock()
	held, size := ss.held, ss.spec.Size
	s.mu.Unlock()
	switch {
	case off > size || n > size-off:
		return s.touch(ss), fmt.Errorf("%w: bytes %d-%d lie beyond the upload's size of %d", ErrRange, off, off+n-1, size)
	case off > held:
		return s.touch(ss), fmt.Errorf("%w: a chunk at offset %d leaves a gap: %d bytes received so far", ErrRange, off, held)
	}
	end := off + n
	if overlap := min(held, end) - off; overlap > 0 {
		if err := s.compare(ss, r, off, overlap); err != nil {
			return s.touch(ss), err
		}
	}
	if fresh := end - max(off, held); fresh > 0 {
		err = s.receive(ctx, ss, r, held, fresh)
	}
	return s.touch(ss), err
}

// touch records activity on ss and returns its status.
func (s *Service) touch(ss *session) Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss.lastActive = s.now()
	return ss.status()
}

// compare checks that the next n bytes of r equal the staged bytes at off.
func (s *Service) compare(ss *session, r io.Reader, off, n int64) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	half := len(*bp) / 2
	got, want := (*bp)[:half], (*bp)[half:]
	for done := int64(0); done < n; {
		k := int(min(int64(half), n-done))
		if m, err := io.ReadFull(r, got[:k]); err != nil {
			return bodyErr(err, done+int64(m), n)
		}
		if _, err := ss.data.ReadAt(want[:k], off+done); err != nil {
			return err
		}
		for i := range k {
			if got[i] != want[i] {
				return fmt.Errorf("%w: the chunk differs from the ciphertext already received at offset %d", ErrConflict, off+done+int64(i))
			}
		}
		done += int64(k)
	}
	return nil
}

// bodyErr describes r ending or failing after got of want bytes. Either is
// the uploader's doing (or its connection's), hence ErrInvalid; the
// cause stays visible to errors.Is.
func bodyErr(err error, got, want int64) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the body ended after %d of %d bytes", ErrInvalid, got, want)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: reading the chunk after %d of %d bytes: %w", ErrInvalid, got, want, err)
}

// receive appends n bytes from r at held (the end of the staged data),
// syncs them and records them as acknowledged. On a write failure the file
// is cut back to held, so nothing half-stored remains.
func (s *Service) receive(ctx context.Context, ss *session, r io.Reader, held, n int64) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var got int64
	var rerr error
	for got < n {
		if err := ctx.Err(); err != nil {
			rerr = err
			break
		}
		m, err := io.ReadFull(r, buf[:min(int64(len(buf)), n-got)])
		if m > 0 {
			if werr := s.writeData(ss, buf[:m], held+got); werr != nil {
				s.rollback(ss, held)
				return stagingErr(werr)
			}
			if ss.hasher != nil && ss.hashed == held+got {
				ss.hasher.Write(buf[:m])
				ss.hashed += int64(m)
			}
			got += int64(m)
		}
		if err != nil {
			rerr = bodyErr(err, got, n)
			break
		}
	}
	if got > 0 {
		if err := ss.data.Sync(); err != nil {
			s.rollback(ss, held)
			return stagingErr(err)
		}
		if err := writeAck(ss.ack, ss.ackSeq+1, held+got); err != nil {
			// The slot just written may be torn; the next attempt
			// rewrites the same slot, leaving the valid one alone.
			s.rollback(ss, held)
			return stagingErr(err)
		}
		ss.ackSeq++
		s.mu.Lock()
		ss.held = held + got
		s.mu.Unlock()
	}
	return rerr
}

func (s *Service) writeData(ss *session, p []byte, off int64) error {
	if f := s.fault.Load(); f != nil {
		if k, err := (*f)(off, len(p)); err != nil {
			ss.data.WriteAt(p[:k], off)
			return err
		}
	}
	_, err := ss.data.WriteAt(p, off)
	return err
}

// rollback discards staged bytes beyond held.
func (s *Service) rollback(ss *session, held int64) {
	if err := ss.data.Truncate(held); err != nil {
		s.log.Error("helper: cutting back staged ciphertext", "si", ss.si.String(), "err", err)
	}
	if ss.hashed > held {
		ss.hasher = nil
	}
}

// Finish encodes and places an upload whose ciphertext is all in, and
// returns the result. It may take a while; if ctx ends first, the placement
// carries on and a later Finish (or Begin, or Status) gets its result. A
// Finish while one is running waits for the same placement, and a Finish
// after success returns the remembered result, so retrying is always
// safe.
//
// If the session was begun with a crypttext hash, the staged ciphertext is
// checked against it first; on a mismatch the session is deleted and
// ErrIntegrity returned, and nothing is placed. If the placement fails
// (ErrPlacement), the ciphertext stays staged and Finish may be retried.
func (s *Service) Finish(ctx context.Context, si wire.StorageIndex) (*Placed, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	for {
		s.mu.Lock()
		if r := s.results[si]; r != nil {
			p := r.placed.clone()
			s.mu.Unlock()
			return p, nil
		}
		ss := s.sessions[si]
		if ss == nil {
			s.mu.Unlock()
			return nil, ErrNotFound
		}
		p := ss.placing
		s.mu.Unlock()
		if p != nil {
			return await(ctx, p)
		}
		if err := ss.acquire(ctx); err != nil {
			return nil, err
		}
		s.mu.Lock()
		if ss.removed {
			s.mu.Unlock()
			ss.release()
			continue
		}
		if ss.held < ss.spec.Size {
			held, size := ss.held, ss.spec.Size
			s.mu.Unlock()
			ss.release()
			return nil, fmt.Errorf("%w: the upload is incomplete: %d of %d bytes received", ErrConflict, held, size)
		}
		spec := ss.spec
		p = &placement{done: make(chan struct{})}
		ss.placing = p
		ss.state = StatePlacing
		ss.lastErr = ""
		s.wg.Add(1) // cannot race Close's Wait: this operation holds the count above zero
		s.mu.Unlock()
		go s.place(ss, spec, p) // takes over the session lock
		return await(ctx, p)
	}
}

func await(ctx context.Context, p *placement) (*Placed, error) {
	select {
	case <-p.done:
		if p.err != nil {
			return nil, p.err
		}
		return p.placed.clone(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// verify checks the staged ciphertext against the crypttext hash, if the
// uploader gave one. Usually the hash was computed as the chunks arrived;
// after a restart, it is recomputed from the file.
func (s *Service) verify(ctx context.Context, ss *session, spec Spec) error {
	if spec.CrypttextHash == nil {
		return nil
	}
	h := ss.hasher
	if h == nil || ss.hashed != spec.Size {
		h = NewCrypttextHasher()
		r := &ctxReader{ctx: ctx, r: io.NewSectionReader(ss.data, 0, spec.Size)}
		bp := bufPool.Get().(*[]byte)
		_, err := io.CopyBuffer(h, r, *bp)
		bufPool.Put(bp)
		if err != nil {
			return err
		}
		ss.hasher, ss.hashed = h, spec.Size
	}
	if h.Sum() != *spec.CrypttextHash {
		return fmt.Errorf("%w: the ciphertext received does not match the crypttext hash given at begin; the upload was discarded", ErrIntegrity)
	}
	return nil
}

// ctxReader stops reading when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// place checks and places a session whose lock it owns, then records the
// result and deletes the staged ciphertext, or puts the session back. It
// runs detached from the finish request that started it, so that neither a
// long hash check nor a long placement is cut short (and started over) by
// an impatient client.
func (s *Service) place(ss *session, spec Spec, p *placement) {
	defer s.wg.Done()
	defer ss.release()
	start := s.now()
	if err := s.verify(s.ctx, ss, spec); err != nil {
		if errors.Is(err, ErrIntegrity) {
			s.log.Warn("helper: upload failed its integrity check; discarded", "si", ss.si.String())
			s.removeSession(ss)
			s.mu.Lock()
			ss.placing = nil
			s.mu.Unlock()
			p.err = err
			close(p.done)
			return
		}
		s.placementFailed(ss, p, err, err)
		return
	}
	placed, err := s.runPlacer(ss, spec)
	if err != nil {
		s.placementFailed(ss, p, err, fmt.Errorf("%w: %v", ErrPlacement, err))
		return
	}
	rec := &doneRecord{placed: placed.clone(), completed: s.now()}
	// Record the result before deleting the ciphertext: a crash in between
	// leaves both, and load keeps the result.
	if err := writeFileAtomic(s.path(ss.si, extDone), encodeDone(*rec)); err != nil {
		s.log.Error("helper: recording the result", "si", ss.si.String(), "err", err)
	}
	s.mu.Lock()
	delete(s.sessions, ss.si)
	ss.removed, ss.state, ss.placing = true, StateStored, nil
	s.results[ss.si] = rec
	s.mu.Unlock()
	ss.closeFiles()
	if err := s.removeFiles(ss.si, extSpec, extData, extAck); err != nil {
		s.log.Error("helper: deleting staged ciphertext", "si", ss.si.String(), "err", err)
	}
	s.log.Info("helper: upload placed", "si", ss.si.String(), "size", spec.Size,
		"happiness", placed.Happiness, "took", s.now().Sub(start))
	p.placed = placed
	close(p.done)
}

// placementFailed puts a session back to receiving (its ciphertext stays
// staged, so finish can be retried) and reports err to the waiters.
func (s *Service) placementFailed(ss *session, p *placement, cause, err error) {
	s.log.Warn("helper: placement failed", "si", ss.si.String(), "err", cause)
	s.mu.Lock()
	ss.state, ss.placing, ss.lastErr, ss.lastActive = StateReceiving, nil, cause.Error(), s.now()
	s.mu.Unlock()
	if s.ctx.Err() != nil {
		err = fmt.Errorf("%w: the helper is shutting down", ErrBusy)
	}
	p.err = err
	close(p.done)
}

func (s *Service) runPlacer(ss *session, spec Spec) (placed *Placed, err error) {
	select {
	case s.placeSem <- struct{}{}:
		defer func() { <-s.placeSem }()
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	}
	defer func() {
		// A placer bug must not take the whole node down.
		if r := recover(); r != nil {
			placed, err = nil, fmt.Errorf("placer panicked: %v", r)
		}
	}()
	placed, err = s.placer.Place(s.ctx, ss.si, io.NewSectionReader(ss.data, 0, spec.Size), spec.Size, spec.Params)
	if err != nil {
		return nil, err
	}
	if err := placed.check(ss.si, spec); err != nil {
		return nil, fmt.Errorf("placer returned an inconsistent result: %w", err)
	}
	return placed, nil
}

// removeSession deletes a session whose lock the caller holds.
func (s *Service) removeSession(ss *session) {
	s.mu.Lock()
	if s.sessions[ss.si] == ss {
		delete(s.sessions, ss.si)
	}
	ss.removed = true
	s.mu.Unlock()
	ss.closeFiles()
	if err := s.removeFiles(ss.si, extSpec, extData, extAck); err != nil {
		s.log.Error("helper: deleting session files", "si", ss.si.String(), "err", err)
	}
}

// Status reports the state of si's upload, or ErrNotFound.
func (s *Service) Status(si wire.StorageIndex) (Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.results[si]; r != nil {
		return storedStatus(r.placed), nil
	}
	if ss := s.sessions[si]; ss != nil {
		return ss.status(), nil
	}
	return Status{}, ErrNotFound
}

// Abort deletes si's session and its staged ciphertext, or forgets its
// remembered result. A session being placed cannot be aborted
// (ErrConflict).
func (s *Service) Abort(ctx context.Context, si wire.StorageIndex) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	s.mu.Lock()
	if s.results[si] != nil {
		delete(s.results, si)
		s.mu.Unlock()
		return s.removeFiles(si, extDone)
	}
	s.mu.Unlock()
	ss, err := s.lockSession(ctx, si)
	if err != nil {
		return err
	}
	s.removeSession(ss)
	ss.release()
	s.log.Info("helper: upload aborted", "si", si.String())
	return nil
}

// Load reports the helper's current load.
func (s *Service) Load() Load {
	s.mu.Lock()
	defer s.mu.Unlock()
	var l Load
	for _, ss := range s.sessions {
		l.Sessions++
		l.StagedBytes += ss.held
		if ss.state == StatePlacing {
			l.Placing++
			l.PlacingBytes += ss.spec.Size
		}
	}
	return l
}

// Sweep deletes sessions idle for longer than IdleTimeout and forgets
// results older than ResultRetention. It runs in the background every
// SweepInterval; calling it directly is for tests and administration.
func (s *Service) Sweep() {
	if s.enter() != nil {
		return
	}
	defer s.leave()
	now := s.now()
	idle := func(ss *session) bool {
		return !ss.removed && ss.state == StateReceiving && now.Sub(ss.lastActive) > s.cfg.IdleTimeout
	}
	var stale []*session
	var expired []wire.StorageIndex
	s.mu.Lock()
	for _, ss := range s.sessions {
		if idle(ss) {
			stale = append(stale, ss)
		}
	}
	for si, r := range s.results {
		if now.Sub(r.completed) > s.cfg.ResultRetention {
			delete(s.results, si)
			expired = append(expired, si)
		}
	}
	s.mu.Unlock()
	for _, si := range expired {
		if err := s.removeFiles(si, extDone); err != nil {
			s.log.Error("helper: deleting an old result", "si", si.String(), "err", err)
		}
	}
	for _, ss := range stale {
		if !ss.tryAcquire() {
			continue // in use, so not idle
		}
		s.mu.Lock()
		still := idle(ss)
		s.mu.Unlock()
		if still {
			s.log.Info("helper: deleting an abandoned upload", "si", ss.si.String())
			s.removeSession(ss)
		}
		ss.release()
	}
}

func (s *Service) sweeper(every time.Duration) {
	defer close(s.swept)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Close stops the service: it cancels running placements (their sessions
// stay staged and resume at the next start), waits for operations in
// flight and closes the staging files. Stop serving requests first, so
// that no chunk is left waiting for a body.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	close(s.stop)
	<-s.swept
	s.wg.Wait()
	s.closeAll()
	return nil
}

func (s *Service) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.sessions {
		ss.closeFiles()
	}
}
