package download

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
)

// Defaults for Options fields left zero.
const (
	DefaultParallel      = 10 // Tahoe's ShareFinder max_outstanding_requests
	DefaultQueryTimeout  = 10 * time.Second
	DefaultReadTimeout   = 30 * time.Second
	DefaultAdviseTimeout = 10 * time.Second
	DefaultReadAhead     = 1 << 20
)

// Options tune a download. The zero value is fine.
type Options struct {
	// Parallel is how many servers are asked for shares at once.
	Parallel int
	// QueryTimeout bounds each "which shares do you have" query.
	QueryTimeout time.Duration
	// ReadTimeout bounds each share read; a server slower than that is
	// dropped for the rest of the download and another copy or share is
	// used.
	ReadTimeout time.Duration
	// ReadAhead is the largest read-ahead per share: when the decoder reads
	// a share sequentially (block after block), reads grow, doubling up to
	// this size, so a long download makes one request per ReadAhead bytes
	// of each share rather than one per block. Negative disables it.
	ReadAhead int
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.Parallel <= 0 {
		out.Parallel = DefaultParallel
	}
	if out.QueryTimeout <= 0 {
		out.QueryTimeout = DefaultQueryTimeout
	}
	if out.ReadTimeout <= 0 {
		out.ReadTimeout = DefaultReadTimeout
	}
	if out.ReadAhead == 0 {
		out.ReadAhead = DefaultReadAhead
	}
	return out
}

// Corruption is a corrupt share found while downloading.
type Corruption struct {
	ServerID string
	Shnum    int
	Reason   string
	Err      *chk.CorruptShareError
	Reported error // nil if the advisory reached the server
}

// holder is a server known to hold a share.
type holder struct {
	s   *broker.Server
	c   *gbs.Client
	rtt time.Duration // of the share query: Tahoe's DYHB round trip
}

// source implements chk.ShareReader over the grid. It finds shares lazily:
// Open queries servers in permuted order until k distinct shares are known
// (the queries already sent keep running and add what they find); a read
// of a share nobody is known to hold resumes the search.
type source struct {
	ctx    context.Context
	cancel context.CancelFunc
	si     wire.StorageIndex
	k, n   int
	opts   Options

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever a query finishes
	servers  []*broker.Server
	next     int // next server of servers to query
	inflight int
	failed   int
	lastErr  error
	holders  map[int][]*holder // by share number, fastest first
	dead     map[*broker.Server]error
	served   map[int]*holder // who served the latest read of each share
	ahead    map[int]*window // read-ahead buffer of each share (small reads)
	streams  map[int]*stream // block stream of each share (large sequential reads)
	corrupt  []Corruption
	queries  sync.WaitGroup
	advisory sync.WaitGroup
}

func newSource(ctx context.Context, b broker.Broker, v cap.Verifier, opts *Options) (*source, error) {
	ctx, cancel := context.WithCancel(ctx)
	s := &source{
		ctx: ctx, cancel: cancel, si: wire.StorageIndex(v.StorageIndex), k: v.K, n: v.N, opts: opts.withDefaults(),
		changed: make(chan struct{}),
		servers: broker.Permuted(b.Servers(), v.StorageIndex[:]),
		holders: map[int][]*holder{}, dead: map[*broker.Server]error{}, served: map[int]*holder{}, ahead: map[int]*window{},
		streams: map[int]*stream{},
	}
	if err := s.find(func() bool { return len(s.holders) >= s.k }); err != nil {
		s.close()
		return nil, err
	}
	if len(s.holders) < s.k {
		err := fmt.Errorf("download: %w: found %d of the %d needed (asked %d of %d servers, %d failed)",
			chk.ErrNotEnoughShares, len(s.holders), s.k, s.next, len(s.servers), s.failed)
		if s.lastErr != nil {
			err = fmt.Errorf("%w; last error: %v", err, s.lastErr)
		}
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *source) close() {
	s.advisory.Wait()
	s.cancel()
	s.queries.Wait()
}

// find sends share queries, Parallel at a time and in permuted order,
// until done reports true (checked under s.mu) or every server has
// answered. Queries still running when it returns carry on in the
// background.
func (s *source) find(done func() bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !done() {
		for s.inflight < s.opts.Parallel && s.next < len(s.servers) {
			srv := s.servers[s.next]
			s.next++
			s.inflight++
			s.queries.Add(1)
			go s.query(srv)
		}
		if s.inflight == 0 {
			return nil // asked everyone
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-s.ctx.Done():
		}
		s.mu.Lock()
		if err := s.ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// query asks one server which shares it holds.
func (s *source) query(srv *broker.Server) {
	defer s.queries.Done()
	var shares []uint16
	var rtt time.Duration
	c, err := srv.Client()
	if err == nil {
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.QueryTimeout)
		start := time.Now()
		shares, err = c.ListImmutableShares(ctx, s.si)
		rtt = time.Since(start)
		cancel()
	}
	if err == nil {
		srv.RecordSuccess(rtt)
	} else if s.ctx.Err() == nil {
		srv.RecordFailure(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if err != nil {
		s.failed++
		s.lastErr = fmt.Errorf("%s: %w", srv, err)
		s.dead[srv] = err
	}
	if _, isDead := s.dead[srv]; !isDead {
		for _, sh := range shares {
			if int(sh) >= s.n {
				continue
			}
			h := &holder{s: srv, c: c, rtt: rtt}
			hs := append(s.holders[int(sh)], h)
			slices.SortStableFunc(hs, func(a, b *holder) int { return int(a.rtt - b.rtt) })
			s.holders[int(sh)] = hs
		}
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// decoderOptions tells the decoder which shares to try first: the known
// ones by the speed of their fastest holder, at most one per server to
// begin with (so that losing a server costs one share, as Tahoe's fetcher
// prefers), then the other known ones, then the rest, which trigger more
// searching if the decoder ever gets to them.
func (s *source) decoderOptions() *chk.DecoderOptions {
	s.mu.Lock()
	defer s.mu.Unlock()
	known := make([]int, 0, len(s.holders))
	for sh := range s.holders {
		known = append(known, sh)
	}
	slices.SortFunc(known, func(a, b int) int {
		if d := s.holders[a][0].rtt - s.holders[b][0].rtt; d != 0 {
			return int(d)
		}
		return a - b
	})
	used := map[*broker.Server]bool{}
	var first, second []int
	for _, sh := range known {
		if h := s.holders[sh][0]; !used[h.s] {
			used[h.s] = true
			first = append(first, sh)
		} else {
			second = append(second, sh)
		}
	}
	order := append(first, second...)
	for sh := range s.n {
		if !slices.Contains(order, sh) {
			order = append(order, sh)
		}
	}
	return &chk.DecoderOptions{Shares: order, OnCorrupt: s.onCorrupt}
}

// pick returns the best live holder of share sh, searching further when
// none is known. It returns nil when every server has been asked.
func (s *source) pick(sh int) (*holder, error) {
	var h *holder
	live := func() bool {
		for _, c := range s.holders[sh] {
			if _, d := s.dead[c.s]; !d {
				h = c
				return true
			}
		}
		return false
	}
	if err := s.find(live); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	live()
	return h, nil
}

// window is the last stretch of a share fetched from a server.
type window struct {
	off     int64
	data    []byte // never modified once stored: reads hand out sub-slices
	eof     bool   // the share ends at off+len(data)
	h       *holder
	lastEnd int64 // end of the decoder's latest read of this share
	size    int   // current read-ahead size
}

// ReadShare implements chk.ShareReader. Sequential reads are served from a
// growing read-ahead window. Otherwise it reads from the fastest live
// holder of the share; if that server fails it is dropped for the rest of
// the download and the next holder is tried. Only when no holder is left
// does the decoder get an error (and move on to another share).
func (s *source) ReadShare(sh int, off int64, length int) ([]byte, error) {
	if length >= minStreamRead && s.opts.ReadAhead > 0 {
		return s.readStream(sh, off, length)
	}
	s.mu.Lock()
	w := s.ahead[sh]
	if w != nil && off >= w.off && off <= w.off+int64(len(w.data)) {
		end := off + int64(length)
		if have := w.off + int64(len(w.data)); end <= have || w.eof {
			end = min(end, have)
			w.lastEnd = end
			s.served[sh] = w.h
			s.mu.Unlock()
			return w.data[off-w.off : end-w.off], nil
		}
	}
	fetch, size := length, 0
	if w != nil && off == w.lastEnd && s.opts.ReadAhead > 0 {
		size = min(max(2*w.size, 2*length), s.opts.ReadAhead)
		fetch = max(length, size)
	}
	s.mu.Unlock()

	data, h, err := s.read(sh, off, fetch)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.served[sh] = h
	s.ahead[sh] = &window{off: off, data: data, eof: len(data) < fetch, h: h, lastEnd: off + int64(min(length, len(data))), size: size}
	s.mu.Unlock()
	return data[:min(length, len(data))], nil
}

// minStreamRead is the smallest read treated as a block of the share's data
// (and streamed); smaller ones are headers and hash-tree nodes.
const minStreamRead = 16 << 10

// stream is the block data of one share being read in order: the window the
// decoder reads from now, and the fetch of the window after it, which runs
// while the decoder verifies, decodes and writes the current one. That
// overlap of network and computation is most of a download's speed.
type stream struct {
	off  int64
	data []byte // never modified once stored
	eof  bool
	h    *holder
	next *pending
}

// pending is a background fetch of a share range.
type pending struct {
	off  int64
	want int
	done chan struct{}
	data []byte
	h    *holder
	err  error
}

// readStream serves a block read from the share's stream, waiting for the
// prefetch when the read reaches it, or starts a new stream at off. A new
// stream fetches just the block asked for (a seek reads no more than it
// needs); the next read that continues it shows the reads are sequential,
// and from then on whole windows are fetched ahead.
func (s *source) readStream(sh int, off int64, length int) ([]byte, error) {
	s.mu.Lock()
	for st := s.streams[sh]; st != nil; {
		end := st.off + int64(len(st.data))
		if off >= st.off && (off+int64(length) <= end || (st.eof && off <= end)) {
			s.served[sh] = st.h
			s.mu.Unlock()
			return st.data[off-st.off : min(off+int64(length), end)-st.off], nil
		}
		if st.next == nil && off == end && !st.eof {
			// A window is a whole number of reads of this length, so that
			// block after block lines up with the window edges.
			s.prefetch(sh, st, max(length, s.opts.ReadAhead/length*length))
		}
		p := st.next
		if p == nil || off < p.off {
			break
		}
		s.mu.Unlock()
		<-p.done
		s.mu.Lock()
		if p.err != nil || s.streams[sh] != st {
			break // the prefetch failed (or the share was dropped): read afresh
		}
		nst := &stream{off: p.off, data: p.data, eof: len(p.data) < p.want, h: p.h}
		s.streams[sh] = nst
		if !nst.eof {
			s.prefetch(sh, nst, p.want)
		}
		st = nst
	}
	s.mu.Unlock()
	data, h, err := s.read(sh, off, length)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.streams[sh] = &stream{off: off, data: data, eof: len(data) < length, h: h}
	s.served[sh] = h
	s.mu.Unlock()
	return data, nil
}

// prefetch starts fetching the window after st. Called with s.mu held.
func (s *source) prefetch(sh int, st *stream, want int) {
	p := &pending{off: st.off + int64(len(st.data)), want: want, done: make(chan struct{})}
	st.next = p
	go func() {
		defer close(p.done)
		p.data, p.h, p.err = s.read(sh, p.off, p.want)
	}()
}

// read fetches a share range from the best live holder, failing over.
func (s *source) read(sh int, off int64, length int) ([]byte, *holder, error) {
	var errs []error
	for {
		h, err := s.pick(sh)
		if err != nil {
			return nil, nil, err
		}
		if h == nil {
			errs = append(errs, fmt.Errorf("no reachable server holds share %d", sh))
			return nil, nil, errors.Join(errs...)
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.ReadTimeout)
		start := time.Now()
		data, err := h.c.ReadImmutableShare(ctx, s.si, uint16(sh), uint64(off), uint64(length))
		cancel()
		if err == nil {
			h.s.RecordSuccess(time.Since(start))
			return data, h, nil
		}
		if s.ctx.Err() != nil {
			return nil, nil, s.ctx.Err()
		}
		errs = append(errs, fmt.Errorf("%s: %w", h.s, err))
		s.mu.Lock()
		if errors.Is(err, gbs.ErrNotFound) {
			// The server no longer has this share (expired, deleted): drop
			// the claim, not the server.
			s.holders[sh] = slices.DeleteFunc(s.holders[sh], func(x *holder) bool { return x == h })
		} else {
			s.dead[h.s] = err
			h.s.RecordFailure(err)
		}
		s.mu.Unlock()
	}
}

// onCorrupt reports a corrupt share to the server that served it, in the
// background, and stops using that copy.
func (s *source) onCorrupt(ce *chk.CorruptShareError) {
	s.mu.Lock()
	h := s.served[ce.Shnum]
	if h == nil {
		s.mu.Unlock()
		return
	}
	s.holders[ce.Shnum] = slices.DeleteFunc(s.holders[ce.Shnum], func(x *holder) bool { return x == h })
	delete(s.ahead, ce.Shnum)
	delete(s.streams, ce.Shnum)
	idx := len(s.corrupt)
	reason := strings.TrimPrefix(ce.Error(), "chk: ")
	s.corrupt = append(s.corrupt, Corruption{ServerID: h.s.ID(), Shnum: ce.Shnum, Reason: reason, Err: ce})
	s.mu.Unlock()
	s.advisory.Add(1)
	go func() {
		defer s.advisory.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), DefaultAdviseTimeout)
		defer cancel()
		err := h.c.AdviseCorruptImmutable(ctx, s.si, uint16(ce.Shnum), reason)
		s.mu.Lock()
		s.corrupt[idx].Reported = err
		s.mu.Unlock()
	}()
}

func (s *source) corruptions() []Corruption {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.corrupt)
}
