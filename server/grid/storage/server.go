// Package storage implements a storage server for the Tahoe-LAFS HTTP
// storage protocol ("Great Black Swamp", GBS): an http.Handler serving the
// /storage/v1 endpoints, Tahoe-compatible share containers on a pluggable
// Backend, leases with an expiry index and crawler, and the TLS identity and
// NURL of a storage node.
//
// The protocol as implemented is described in docs/spec/storage-protocol.md.
// Share data is opaque here: the server never interprets what clients store.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/communitycube/cube/server/grid/storage/container"
	"github.com/communitycube/cube/server/grid/storage/wire"
)

// Defaults for Config fields left zero.
const (
	// DefaultLeaseDuration is how long a lease lasts after being added or
	// renewed. The protocol fixes it at 31 days.
	DefaultLeaseDuration = 31 * 24 * time.Hour
	// DefaultUploadTimeout is how long an immutable upload may sit idle
	// before it is aborted and its space released (Tahoe uses 30 minutes).
	DefaultUploadTimeout = 30 * time.Minute
	// DefaultMaxMutableShareSize is the largest mutable share accepted and
	// advertised; it is Tahoe's MAX_MUTABLE_SHARE_SIZE (69105 TB).
	DefaultMaxMutableShareSize = 69105 * 1000 * 1000 * 1000 * 1000
	// DefaultApplicationVersion is sent in the version message.
	DefaultApplicationVersion = "CommunityCube-storage/1"
)

// Config configures a Server.
type Config struct {
	// Backend stores the share containers. Required.
	Backend Backend
	// StateDir holds the server's own state: the lease index database and
	// the corruption-advisories directory. Required; it may be the same
	// directory the DiskBackend uses.
	StateDir string
	// Swissnum is the secret from the node's NURL that clients must present
	// in the Authorization header. Required.
	Swissnum string
	// NodeID is recorded in mutable containers and their leases (Tahoe puts
	// its 20-byte Foolscap tub id there). Identity.NodeID derives one from
	// the TLS key.
	NodeID [20]byte
	// ReservedSpace is kept free: allocations and mutable writes that would
	// leave the backend with less than this many bytes are refused.
	ReservedSpace int64
	// ReadOnly refuses every request that would store new data; reads and
	// lease renewals are still served.
	ReadOnly bool
	// MaxImmutableShareSize caps allocated-size; 0 means no cap beyond the
	// available space.
	MaxImmutableShareSize int64
	// MaxMutableShareSize caps the end offset of mutable writes; 0 means
	// DefaultMaxMutableShareSize.
	MaxMutableShareSize int64
	// MaxReadTestWriteSize caps read-test-write request bodies (which are
	// buffered in memory) and the data a single request may read; 0 means
	// wire.DefaultMaxReadTestWriteSize.
	MaxReadTestWriteSize int64
	// LeaseDuration is the lease period; 0 means DefaultLeaseDuration.
	LeaseDuration time.Duration
	// UploadTimeout is the idle time after which an upload is abandoned; 0
	// means DefaultUploadTimeout.
	UploadTimeout time.Duration
	// ApplicationVersion is reported by the version endpoint.
	ApplicationVersion string
	// Clock returns the current time; nil means time.Now. Tests inject a
	// fake clock to exercise leases and timeouts without sleeping.
	Clock func() time.Time
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger
}

// Server is a GBS storage server. It implements http.Handler; serve it over
// TLS with the node's Identity.
type Server struct {
	cfg        Config
	backend    Backend
	index      *leaseIndex
	log        *slog.Logger
	now        func() time.Time
	authHeader string
	corruptDir string
	mux        *http.ServeMux

	// siLocks serialize operations that change one storage index (keyed by
	// its first byte; contention between unrelated indexes is negligible).
	// Lock order: upload.mu, then siLocks, then mu.
	siLocks [256]sync.Mutex

	mu        sync.Mutex
	uploads   map[shareKey]*upload
	completed map[shareKey]completedUpload
	closed    bool
}

type shareKey struct {
	si    wire.StorageIndex
	shnum uint16
}

// NewServer opens a storage server. If the lease index is missing or was
// never completely built, it is rebuilt by scanning every share once.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Backend == nil || cfg.StateDir == "" || cfg.Swissnum == "" {
		return nil, errors.New("storage: Config needs Backend, StateDir and Swissnum")
	}
	if cfg.MaxMutableShareSize <= 0 {
		cfg.MaxMutableShareSize = DefaultMaxMutableShareSize
	}
	if cfg.MaxReadTestWriteSize <= 0 {
		cfg.MaxReadTestWriteSize = wire.DefaultMaxReadTestWriteSize
	}
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.UploadTimeout <= 0 {
		cfg.UploadTimeout = DefaultUploadTimeout
	}
	if cfg.ApplicationVersion == "" {
		cfg.ApplicationVersion = DefaultApplicationVersion
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, err
	}
	corruptDir := filepath.Join(cfg.StateDir, "corruption-advisories")
	if err := os.MkdirAll(corruptDir, 0o700); err != nil {
		return nil, err
	}
	idx, err := openLeaseIndex(filepath.Join(cfg.StateDir, "lease-index.sqlite"))
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		backend:    cfg.Backend,
		index:      idx,
		log:        cfg.Logger.With("component", "storage"),
		now:        cfg.Clock,
		authHeader: wire.AuthorizationValue(cfg.Swissnum),
		corruptDir: corruptDir,
		uploads:    map[shareKey]*upload{},
		completed:  map[shareKey]completedUpload{},
	}
	s.mux = s.newMux()
	done, err := idx.isComplete()
	if err == nil && !done {
		err = s.RebuildLeaseIndex(context.Background())
	}
	if err != nil {
		idx.close()
		return nil, fmt.Errorf("storage: lease index: %w", err)
	}
	return s, nil
}

// Close aborts in-progress uploads (their data is discarded, as after a
// restart) and closes the lease index. It does not close the Backend.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ups := make([]*upload, 0, len(s.uploads))
	for _, u := range s.uploads {
		ups = append(ups, u)
	}
	s.uploads = map[shareKey]*upload{}
	s.mu.Unlock()
	for _, u := range ups {
		u.mu.Lock()
		u.abort()
		u.mu.Unlock()
	}
	return s.index.close()
}

func (s *Server) lockSI(si wire.StorageIndex) func() {
	m := &s.siLocks[si[0]]
	m.Lock()
	return m.Unlock
}

// RebuildLeaseIndex rescans every share and records its leases in the
// index. NewServer calls it when needed; it is exported for operators who
// restore a share directory from elsewhere.
func (s *Server) RebuildLeaseIndex(ctx context.Context) error {
	if err := s.index.setComplete(false); err != nil {
		return err
	}
	n := 0
	err := s.backend.Walk(ctx, func(si wire.StorageIndex, shnum uint16) error {
		unlock := s.lockSI(si)
		defer unlock()
		sh, err := s.openShare(si, shnum)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			s.log.Warn("skipping unreadable share during index rebuild", "si", si.String(), "shnum", shnum, "err", err)
			return nil
		}
		defer sh.close()
		leases, err := sh.leases()
		if err != nil {
			s.log.Warn("skipping share with unreadable leases", "si", si.String(), "shnum", shnum, "err", err)
			return nil
		}
		n++
		return s.index.put(si, shnum, sh.kind == container.KindMutable, leases)
	})
	if err != nil {
		return err
	}
	s.log.Info("lease index rebuilt", "shares", n)
	return s.index.setComplete(true)
}

// openedShare is a committed container parsed according to its kind.
type openedShare struct {
	c    Container
	kind container.Kind
	imm  *container.Immutable
	mut  *container.Mutable
}

func (o *openedShare) close() { o.c.Close() }

func (o *openedShare) leases() ([]container.Lease, error) {
	if o.imm != nil {
		return o.imm.Leases()
	}
	return o.mut.Leases()
}

func (o *openedShare) dataLength() int64 {
	if o.imm != nil {
		return o.imm.DataLength()
	}
	return o.mut.DataLength()
}

func (o *openedShare) dataReader(off, n int64) io.Reader {
	if o.imm != nil {
		return o.imm.DataReader(off, n)
	}
	return o.mut.DataReader(off, n)
}

func (o *openedShare) addOrRenewLease(r container.LeaseRequest) ([]container.Lease, error) {
	if o.imm != nil {
		return o.imm.AddOrRenewLease(r)
	}
	return o.mut.AddOrRenewLease(r)
}

// errUnknownContainer marks a share file that is neither kind.
var errUnknownContainer = fmt.Errorf("%w: unrecognised container", container.ErrCorrupt)

// openShare opens and parses a committed container.
func (s *Server) openShare(si wire.StorageIndex, shnum uint16) (*openedShare, error) {
	c, err := s.backend.Open(si, shnum)
	if err != nil {
		return nil, err
	}
	o := &openedShare{c: c}
	o.kind, err = container.DetectFileKind(c)
	if err == nil {
		switch o.kind {
		case container.KindImmutable:
			o.imm, err = container.OpenImmutable(c)
		case container.KindMutable:
			o.mut, err = container.OpenMutable(c)
		default:
			err = errUnknownContainer
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return o, nil
}

// listKind returns the committed shares of the given kind under si.
func (s *Server) listKind(si wire.StorageIndex, kind container.Kind) ([]uint16, error) {
	all, err := s.backend.List(si)
	if err != nil {
		return nil, err
	}
	out := make([]uint16, 0, len(all))
	for _, sh := range all {
		c, err := s.backend.Open(si, sh)
		if err != nil {
			continue
		}
		k, err := container.DetectFileKind(c)
		c.Close()
		if err == nil && k == kind {
			out = append(out, sh)
		}
	}
	return out, nil
}

// diskSpace returns the backend's free space minus the reservation (never
// negative), or 0 in read-only mode.
func (s *Server) diskSpace() int64 {
	if s.cfg.ReadOnly {
		return 0
	}
	avail, err := s.backend.Available()
	if err != nil {
		s.log.Warn("cannot determine available space", "err", err)
		return 0
	}
	if avail == math.MaxInt64 {
		return avail
	}
	return max(0, avail-s.cfg.ReservedSpace)
}

// allocatable is diskSpace minus the not-yet-written parts of in-progress
// uploads (their containers are sparse, so that space is promised but not
// yet used).
func (s *Server) allocatable() int64 {
	space := s.diskSpace()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.uploads {
		space -= u.pending()
	}
	return max(0, space)
}

// Version returns the version message the server currently advertises.
func (s *Server) Version() wire.Version {
	space := uint64(s.diskSpace())
	maxImm := space
	if s.cfg.MaxImmutableShareSize > 0 {
		maxImm = min(maxImm, uint64(s.cfg.MaxImmutableShareSize))
	}
	return wire.Version{
		MaximumImmutableShareSize: maxImm,
		MaximumMutableShareSize:   uint64(s.cfg.MaxMutableShareSize),
		AvailableSpace:            space,
		ApplicationVersion:        s.cfg.ApplicationVersion,
	}
}

func (s *Server) leaseRequest(renew, cancel []byte, owner uint32) container.LeaseRequest {
	return container.LeaseRequest{
		RenewSecret:  renew,
		CancelSecret: cancel,
		Expiration:   container.ExpirationFor(s.now().Add(s.cfg.LeaseDuration)),
		Owner:        owner,
		NodeID:       s.cfg.NodeID,
	}
}

// indexPut records a share's leases in the index. Failures are logged, not
// returned: the share itself is safely stored, and a missing index entry
// can only delay expiry, never lose data.
func (s *Server) indexPut(si wire.StorageIndex, shnum uint16, mutable bool, leases []container.Lease) {
	if err := s.index.put(si, shnum, mutable, leases); err != nil {
		s.log.Error("lease index update failed", "si", si.String(), "shnum", shnum, "err", err)
	}
}

func (s *Server) indexRemove(si wire.StorageIndex, shnum uint16) {
	if err := s.index.remove(si, shnum); err != nil {
		s.log.Error("lease index delete failed", "si", si.String(), "shnum", shnum, "err", err)
	}
}
