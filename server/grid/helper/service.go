package helper

import (
	"context"
	"errors"
	"fmt"
	"github.com/communitycube/cube/server/grid/prealloc"
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
	DefaultStallTimeout    = 2 * time.Minute
	DefaultSyncDelay       = time.Second
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
	// GapWait is how long a chunk that starts beyond the bytes held waits
	// for them before it is refused as a gap (default DefaultGapWait;
	// negative: no wait). An uploader with several chunks on the wire, on
	// separate connections, sees them arrive in any order.
	GapWait time.Duration
	// IdleTimeout is how long a session may go without a chunk or a begin
	// before it is deleted (default DefaultIdleTimeout).
	IdleTimeout time.Duration
	// ResultRetention is how long a finished upload's result is remembered
	// for retried finish and begin calls (default DefaultResultRetention).
	ResultRetention time.Duration
	// StallTimeout is how long an early placement (one started while the
	// ciphertext is still arriving, see Finish) waits for the next bytes,
	// or for the finish, before it gives up, aborting what it sent to the
	// storage servers; the upload is then placed at finish as if no early
	// placement had run. Default DefaultStallTimeout, at most IdleTimeout;
	// a negative value disables early placement.
	StallTimeout time.Duration
	// SyncDelay is how long received bytes that an early placement is
	// consuming may stay unsynced after the session's last chunk (default
	// DefaultSyncDelay). See receive.
	SyncDelay time.Duration
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
	waiting  int // finish placements waiting for a slot; guarded by mu
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
	// durable is how much of data is synced and recorded in ack: what a
	// restarted helper holds. It trails held while an early placement
	// consumes the bytes (see receive).
	durable int64

	// Guarded by Service.mu.
	spec       Spec
	held       int64
	grew       chan struct{} // closed (and replaced) when held grows
	writing    bool          // a chunk is being received
	state      State
	lastActive time.Time
	lastErr    string
	placing    *placement
	early      *early // an early placement not (yet) taken over by a finish
	earlyFail  bool   // an early placement failed on its own: leave it to finish
	removed    bool
	syncTimer  *time.Timer // pending idleSync
}

// placement is a running Placer call that finish requests wait on.
type placement struct {
	done   chan struct{}
	placed *Placed
	err    error
}

// early is a placement started before the ciphertext is all in: it reads
// the staged file through a followReader, so that encoding and pushing
// shares overlap with receiving. It never gets the last byte before a
// finish has checked the crypttext hash and opened the gate, so it cannot
// complete a share on its own (the upload package holds back the last
// chunk of every share until it has read the whole ciphertext).
type early struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	gate   chan struct{} // closed by the finish once the ciphertext is verified
	done   chan struct{} // closed when the Placer has returned
	placed *Placed       // set before done is closed
	err    error

	// Guarded by Service.mu.
	handed  bool  // a finish has taken it over
	stopped error // why it was cancelled, if it was (not after handed)
}

// Reasons for stopping an early placement.
var (
	errStalled    = errors.New("helper: no bytes arrived for too long; placing at finish instead")
	errPreempted  = errors.New("helper: a finished upload needed the placement slot")
	errAborted    = errors.New("helper: the upload was deleted")
	errSuperseded = errors.New("helper: early placement not used")
)

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
	return Status{State: ss.state, Size: ss.spec.Size, Received: ss.held, LastError: ss.lastErr,
		SegmentSize: ss.spec.Params.CHK().SegmentSize(ss.spec.Size)}
}

func storedStatus(p *Placed) Status {
	size := p.VerifyCap.Size
	st := Status{State: StateStored, Size: size, Received: size, Result: p.clone()}
	if u, err := chk.ParseUEB(p.UEB); err == nil {
		st.SegmentSize = u.SegmentSize
	}
	return st
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
	if cfg.SyncDelay <= 0 {
		cfg.SyncDelay = DefaultSyncDelay
	}
	if cfg.GapWait == 0 {
		cfg.GapWait = DefaultGapWait
	}
	if cfg.StallTimeout == 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	cfg.StallTimeout = min(cfg.StallTimeout, cfg.IdleTimeout)
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
	ss := &session{si: si, spec: spec, lock: make(chan struct{}, 1), state: StateReceiving, grew: make(chan struct{})}
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
	defer func() { ss.durable = ss.held }()
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
			// The uploader is back: place while it sends the rest. If a
			// chunk holds the session, that chunk starts it instead.
			if ss.tryAcquire() {
				s.startEarly(ss)
				ss.release()
			}
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
		s.startEarly(ss)
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
	ss := &session{si: si, spec: spec, lock: make(chan struct{}, 1), state: StateReceiving, lastActive: s.now(), grew: make(chan struct{})}
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
	// The crypttext hash is tracked whether or not the uploader gave one:
	// it may give it at finish, and checking is then free.
	ss.hasher = NewCrypttextHasher()
	s.startEarly(ss)
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
	// Reserve the blocks: appending into them costs a tenth of the CPU of
	// growing the file, and a full disk shows up now, not half-way.
	if err := prealloc.File(ss.data, ss.spec.Size); err != nil {
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

// DefaultGapWait is Config.GapWait's default.
const DefaultGapWait = 15 * time.Second

// waitHeld waits until the session of si holds off bytes, for at most
// Config.GapWait (or until ctx ends). WriteChunk then decides as usual: what is
// still a gap is refused.
func (s *Service) waitHeld(ctx context.Context, si wire.StorageIndex, off int64) {
	var timeout <-chan time.Time
	for {
		s.mu.Lock()
		ss := s.sessions[si]
		if ss == nil || ss.held >= off || ss.placing != nil || ss.removed {
			s.mu.Unlock()
			return
		}
		grew := ss.grew
		s.mu.Unlock()
		if timeout == nil {
			if s.cfg.GapWait < 0 {
				return
			}
			t := time.NewTimer(s.cfg.GapWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-grew:
		case <-timeout:
			return
		case <-ctx.Done():
			return
		}
	}
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
	s.waitHeld(ctx, si, off)
	if err := s.enter(); err != nil {
		return Status{}, err
	}
	defer s.leave()
	ss, err := s.lockSession(ctx, si)
	if err != nil {
		return Status{}, err
	}
	defer ss.release()
	// Start the placement early if it is not running yet (an earlier one
	// stopped, or no slot was free at begin); the deferred call runs with
	// the session still locked.
	defer s.startEarly(ss)

	s.mu.Lock()
	held, size := ss.held, ss.spec.Size
	ss.writing = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		ss.writing = false
		s.mu.Unlock()
	}()
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

// receive appends n bytes from r at held (the end of the staged data) and
// makes them held: acknowledged to the uploader and visible to an early
// placement. On a write failure the file is cut back to held, so nothing
// half-stored remains.
//
// When no early placement is consuming the session, the bytes are synced
// and recorded before they are acknowledged, as the staged file is then
// their only copy. While one is, they are acknowledged once written and
// synced only when the session pauses (SyncDelay after its last chunk) or
// the helper shuts down: the placement turns them into shares that storage
// servers sync, and the staged file, deleted once they are placed, mostly
// never reaches the disk — a third of an upload's disk writes saved. If the
// helper crashes meanwhile, it restarts from the last recorded length (the
// unrecorded tail is cut off) and Begin tells the uploader to resend from
// there; nothing is stored that was not checked.
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
		s.mu.Lock()
		lazy := ss.early != nil
		s.mu.Unlock()
		if !lazy {
			if err := s.syncLocked(ss, held+got); err != nil {
				s.rollback(ss, held)
				return stagingErr(err)
			}
		}
		s.mu.Lock()
		ss.held = held + got
		close(ss.grew) // wake an early placement waiting for these bytes
		ss.grew = make(chan struct{})
		if lazy {
			if ss.syncTimer == nil {
				ss.syncTimer = time.AfterFunc(s.cfg.SyncDelay, func() { s.idleSync(ss) })
			} else {
				ss.syncTimer.Reset(s.cfg.SyncDelay)
			}
		}
		s.mu.Unlock()
	}
	return rerr
}

// syncLocked makes data[:upTo] durable: sync, then record the length. The
// caller holds ss.lock.
func (s *Service) syncLocked(ss *session, upTo int64) error {
	if err := ss.data.Sync(); err != nil {
		return err
	}
	if err := writeAck(ss.ack, ss.ackSeq+1, upTo); err != nil {
		// The slot just written may be torn; the next attempt rewrites the
		// same slot, leaving the valid one alone.
		return err
	}
	ss.ackSeq++
	ss.durable = upTo
	return nil
}

// idleSync makes a paused session's held bytes durable.
func (s *Service) idleSync(ss *session) {
	if err := ss.acquire(s.ctx); err != nil {
		return // shutting down: Close syncs
	}
	defer ss.release()
	s.mu.Lock()
	held, removed, closed := ss.held, ss.removed, s.closed
	s.mu.Unlock()
	if removed || closed || ss.data == nil || held <= ss.durable {
		return
	}
	if err := s.syncLocked(ss, held); err != nil {
		s.log.Warn("helper: syncing staged ciphertext", "si", ss.si.String(), "err", err)
	}
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
// returns the result. It is FinishWithHash without a hash.
func (s *Service) Finish(ctx context.Context, si wire.StorageIndex) (*Placed, error) {
	return s.FinishWithHash(ctx, si, nil)
}

// FinishWithHash encodes and places an upload whose ciphertext is all in,
// and returns the result. It may take a while; if ctx ends first, the
// placement carries on and a later Finish (or Begin, or Status) gets its
// result. A Finish while one is running waits for the same placement, and
// a Finish after success returns the remembered result, so retrying is
// always safe.
//
// crypttextHash, if not nil, is the uploader's crypttext hash (see
// Spec.CrypttextHash), for an uploader that computed it while sending
// rather than before Begin. A session begun without one adopts it; one
// begun with another is a conflict (ErrConflict), and so is a stored or
// running placement whose result does not carry it.
//
// If the session has a crypttext hash, the staged ciphertext is checked
// against it before the placement's final step; on a mismatch the session
// is deleted, ErrIntegrity returned, and no share is completed on the grid.
// If the placement fails (ErrPlacement), the ciphertext stays staged and
// Finish may be retried.
//
// Usually most of the work is done by then: a placement starts as soon as
// a session begins (or resumes) and a placement slot is free, reading the
// ciphertext as it is acknowledged, and Finish only lets it take the last
// bytes once they are verified. Without one (no slot was free, the helper
// restarted, or it stopped), Finish places the staged file from the start.
func (s *Service) FinishWithHash(ctx context.Context, si wire.StorageIndex, crypttextHash *hashtree.Hash) (*Placed, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	for {
		s.mu.Lock()
		if r := s.results[si]; r != nil {
			p := r.placed.clone()
			s.mu.Unlock()
			return p, checkFinishHash(si, p, crypttextHash)
		}
		ss := s.sessions[si]
		if ss == nil {
			s.mu.Unlock()
			return nil, ErrNotFound
		}
		p := ss.placing
		s.mu.Unlock()
		if p != nil {
			placed, err := await(ctx, p)
			if err != nil {
				return nil, err
			}
			return placed, checkFinishHash(si, placed, crypttextHash)
		}
		if err := ss.acquire(ctx); err != nil {
			return nil, err
		}
		s.mu.Lock()
		if ss.removed || ss.placing != nil {
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
		s.mu.Unlock()
		if crypttextHash != nil {
			if spec.CrypttextHash != nil && *spec.CrypttextHash != *crypttextHash {
				ss.release()
				return nil, fmt.Errorf("%w: the upload was begun with another crypttext hash", ErrConflict)
			}
			if spec.CrypttextHash == nil {
				// Adopt it, durably, as Begin would: a retried finish
				// after a restart is then checked against it too.
				ns := spec
				h := *crypttextHash
				ns.CrypttextHash = &h
				if err := writeFileAtomic(s.path(si, extSpec), encodeSpec(ns)); err != nil {
					ss.release()
					return nil, stagingErr(err)
				}
				spec = ns
			}
		}
		p = &placement{done: make(chan struct{})}
		s.mu.Lock()
		ss.spec = spec
		ss.placing = p
		ss.state = StatePlacing
		ss.lastErr = ""
		// Take over the early placement, if one is running and usable.
		e := ss.early
		ss.early = nil
		usable := e != nil && e.stopped == nil && !isClosed(e.done)
		if usable {
			e.handed = true
		}
		s.wg.Add(1) // cannot race Close's Wait: this operation holds the count above zero
		s.mu.Unlock()
		go s.place(ss, spec, p, e, usable) // takes over the session lock
		return await(ctx, p)
	}
}

// checkFinishHash checks a placed result against a crypttext hash given
// at finish.
func checkFinishHash(si wire.StorageIndex, p *Placed, h *hashtree.Hash) error {
	if h == nil {
		return nil
	}
	v := p.VerifyCap
	spec := Spec{Size: v.Size, Params: Params{K: v.K, N: v.N}, CrypttextHash: h}
	if err := p.check(si, spec); err != nil {
		return fmt.Errorf("%w: the file stored under this storage index does not match the crypttext hash: %v", ErrConflict, err)
	}
	return nil
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
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
		return fmt.Errorf("%w: the ciphertext received does not match the crypttext hash; the upload was discarded", ErrIntegrity)
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
//
// e is the session's early placement, if it had one; usable says whether
// it is still running (then place lets it finish instead of starting
// another).
func (s *Service) place(ss *session, spec Spec, p *placement, e *early, usable bool) {
	defer s.wg.Done()
	defer ss.release()
	start := s.now()
	if e != nil && !usable {
		s.stopEarly(e, errSuperseded)
		e = nil
	}
	if err := s.verify(s.ctx, ss, spec); err != nil {
		if e != nil {
			// The early placement is waiting for the last bytes: it gets
			// this error instead, so the placer aborts its buckets and no
			// share is completed.
			e.cancel(err)
			<-e.done
		}
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
	var placed *Placed
	var err error
	if e != nil && isClosed(e.done) {
		// It failed before getting the last bytes (and was taken over
		// just then): start afresh, as if there had been none.
		e = nil
	}
	if e != nil {
		close(e.gate) // verified: the early placement may read the end
		<-e.done
		placed, err = e.placed, e.err
		if err == nil {
			if cerr := placed.check(ss.si, spec); cerr != nil {
				placed, err = nil, fmt.Errorf("placer returned an inconsistent result: %w", cerr)
			}
		}
	} else {
		placed, err = s.runPlacer(ss, spec)
	}
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
		"happiness", placed.Happiness, "early", e != nil, "took", s.now().Sub(start))
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

// runPlacer places the whole staged ciphertext of a session whose lock the
// caller owns, once a placement slot is free.
func (s *Service) runPlacer(ss *session, spec Spec) (*Placed, error) {
	if err := s.acquireSlot(); err != nil {
		return nil, err
	}
	defer func() { <-s.placeSem }()
	return s.callPlacer(s.ctx, ss.si, spec, io.NewSectionReader(ss.data, 0, spec.Size))
}

// acquireSlot waits for a placement slot. Early placements may hold every
// slot while their uploaders send: a finished upload goes first, so one of
// them is stopped (it is placed at its own finish instead).
func (s *Service) acquireSlot() error {
	select {
	case s.placeSem <- struct{}{}:
		return nil
	default:
	}
	s.mu.Lock()
	s.waiting++
	victim := s.preemptLocked()
	s.mu.Unlock()
	if victim != nil {
		victim.cancel(errPreempted)
	}
	var err error
	select {
	case s.placeSem <- struct{}{}:
	case <-s.ctx.Done():
		err = s.ctx.Err()
	}
	s.mu.Lock()
	s.waiting--
	s.mu.Unlock()
	return err
}

// preemptLocked marks for cancellation the early placement whose uploader
// was least recently active, if there is one, and returns it. Call with
// s.mu held; cancel the result once it is released.
func (s *Service) preemptLocked() *early {
	var victim *early
	var at time.Time
	for _, o := range s.sessions {
		e := o.early
		if e == nil || e.handed || e.stopped != nil {
			continue
		}
		if victim == nil || o.lastActive.Before(at) {
			victim, at = e, o.lastActive
		}
	}
	if victim != nil {
		victim.stopped = errPreempted
	}
	return victim
}

// callPlacer runs the Placer and checks its result.
func (s *Service) callPlacer(ctx context.Context, si wire.StorageIndex, spec Spec, r io.Reader) (placed *Placed, err error) {
	defer func() {
		// A placer bug must not take the whole node down.
		if r := recover(); r != nil {
			placed, err = nil, fmt.Errorf("placer panicked: %v", r)
		}
	}()
	placed, err = s.placer.Place(ctx, si, r, spec.Size, spec.Params)
	if err != nil {
		return nil, err
	}
	if err := placed.check(si, spec); err != nil {
		return nil, fmt.Errorf("placer returned an inconsistent result: %w", err)
	}
	return placed, nil
}

// startEarly starts placing a session while its ciphertext arrives, if
// early placement is enabled, none is running, the session is not being
// placed, and a placement slot is free (finishes waiting for one come
// first). Call with the session's lock held, inside an operation (enter).
func (s *Service) startEarly(ss *session) {
	if s.cfg.StallTimeout < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || ss.removed || ss.early != nil || ss.placing != nil || ss.earlyFail || s.waiting > 0 {
		return
	}
	select {
	case s.placeSem <- struct{}{}:
	default:
		return // all slots busy: the placement waits for finish
	}
	ctx, cancel := context.WithCancelCause(s.ctx)
	e := &early{ctx: ctx, cancel: cancel, gate: make(chan struct{}), done: make(chan struct{})}
	ss.early = e
	r := &followReader{s: s, ss: ss, e: e, data: ss.data, size: ss.spec.Size}
	s.wg.Add(1) // inside an operation, so Close is not waiting yet
	go s.runEarly(ss, ss.spec, e, r)
}

// runEarly runs an early placement until the placer returns.
func (s *Service) runEarly(ss *session, spec Spec, e *early, r *followReader) {
	defer s.wg.Done()
	start := time.Now()
	placed, err := s.callPlacer(e.ctx, ss.si, spec, r)
	if err == nil && r.pos != spec.Size {
		// Cannot happen with a placer that reads all it encodes.
		placed, err = nil, fmt.Errorf("placer returned after reading %d of %d bytes", r.pos, spec.Size)
	}
	<-s.placeSem
	s.mu.Lock()
	e.placed, e.err = placed, err
	stopped := e.stopped
	if ss.early == e {
		// Not taken over by a finish: it can only have failed.
		ss.early = nil
		if stopped == nil && s.ctx.Err() == nil && err != nil {
			// The placer's own failure (no happy layout, ...): do not
			// start again at every chunk; finish places as usual.
			ss.earlyFail = true
		}
	}
	s.mu.Unlock()
	e.cancel(nil)
	switch {
	case err == nil:
	case stopped != nil:
		s.log.Info("helper: early placement stopped", "si", ss.si.String(), "read", r.pos, "reason", stopped, "after", time.Since(start))
	case s.ctx.Err() == nil:
		s.log.Warn("helper: early placement failed", "si", ss.si.String(), "read", r.pos, "err", err)
	}
	close(e.done)
}

// stopEarly cancels an early placement and waits for its placer to return.
// The caller must not hold s.mu.
func (s *Service) stopEarly(e *early, cause error) {
	s.mu.Lock()
	if e.stopped == nil && !e.handed {
		e.stopped = cause
	}
	s.mu.Unlock()
	e.cancel(cause)
	<-e.done
}

// followReader reads a session's staged ciphertext while it arrives: it
// returns acknowledged bytes only, blocks until more are acknowledged, and
// holds back the last byte until a finish has verified the whole
// ciphertext and opened the gate. If the early placement is cancelled
// (integrity failure, abort, stall, shutdown) it returns the cause, so the
// placer fails and aborts its buckets.
type followReader struct {
	s    *Service
	ss   *session
	e    *early
	data *os.File
	size int64
	pos  int64 // only touched by the placer's reading goroutine
}

func (r *followReader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if r.e.ctx.Err() != nil {
			return 0, context.Cause(r.e.ctx)
		}
		open := isClosed(r.e.gate)
		r.s.mu.Lock()
		limit, grew := r.ss.held, r.ss.grew
		r.s.mu.Unlock()
		if !open {
			limit = min(limit, r.size-1)
		}
		if limit > r.pos {
			n := min(int64(len(p)), limit-r.pos)
			k, err := r.data.ReadAt(p[:n], r.pos)
			r.pos += int64(k)
			if int64(k) == n {
				return k, nil
			}
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the file is shorter than acknowledged
			}
			return k, err
		}
		if timer == nil {
			timer = time.NewTimer(r.s.cfg.StallTimeout)
		}
		select {
		case <-grew:
		case <-r.e.gate:
		case <-r.e.ctx.Done():
		case <-timer.C:
			if err := r.stalled(); err != nil {
				return 0, err
			}
			timer.Reset(r.s.cfg.StallTimeout)
		}
	}
}

// stalled decides, when no bytes came for StallTimeout, whether to give up
// (and why): not while a chunk is being received, nor once a finish owns
// the placement.
func (r *followReader) stalled() error {
	r.s.mu.Lock()
	if err := r.e.stopped; err != nil {
		r.s.mu.Unlock()
		return err
	}
	if r.e.handed || r.ss.writing {
		r.s.mu.Unlock()
		return nil
	}
	r.e.stopped = errStalled
	r.s.mu.Unlock()
	r.e.cancel(errStalled)
	return errStalled
}

// removeSession deletes a session whose lock the caller holds, stopping
// its early placement first.
func (s *Service) removeSession(ss *session) {
	s.mu.Lock()
	if s.sessions[ss.si] == ss {
		delete(s.sessions, ss.si)
	}
	ss.removed = true
	e := ss.early
	ss.early = nil
	s.mu.Unlock()
	if e != nil {
		s.stopEarly(e, errAborted)
	}
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
// remembered result. An early placement of the session (see
// FinishWithHash) is cancelled first, its buckets aborted. A session being
// placed after a finish cannot be aborted (ErrConflict).
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
	sessions := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		if ss.syncTimer != nil {
			ss.syncTimer.Stop()
		}
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	for _, ss := range sessions {
		// An idle sync that had already started finishes first.
		ss.lock <- struct{}{}
		s.mu.Lock()
		held, removed := ss.held, ss.removed
		s.mu.Unlock()
		if ss.data != nil && !removed && held > ss.durable {
			if err := s.syncLocked(ss, held); err != nil {
				s.log.Warn("helper: syncing staged ciphertext at shutdown", "si", ss.si.String(), "err", err)
			}
		}
		ss.closeFiles()
		ss.data, ss.ack = nil, nil
		ss.release()
	}
}
