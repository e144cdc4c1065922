package upload

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// bucket is one share being written to one server.
type bucket struct {
	t  *tracker
	sh int
	ch chan *chunk

	// Guarded by uploader.mu.
	failed   bool
	err      error
	complete bool
}

// chunk is a piece of one share, shared read-only by the buckets that
// receive that share (usually one).
type chunk struct {
	buf  []byte
	off  int64
	refs atomic.Int32
	w    *shareWriter
}

func (c *chunk) release() {
	if c.refs.Add(-1) == 0 {
		b := c.buf[:0]
		c.w.pool.Put(&b)
	}
}

// shareWriter receives the encoder's output (chk.ShareWriter) and feeds it
// to the buckets in bounded chunks.
//
// The encoder writes each share strictly sequentially, so each share has
// one partly filled chunk at a time. A full chunk is sent only once more
// bytes of its share arrive: the last chunk of every share is therefore
// still here when the encoder finishes, and no share can be completed on
// any server before the whole upload is known to be happy. Memory is
// bounded by shares × (1 + QueueDepth + 1 in flight) × ChunkSize, whatever
// the file size.
type shareWriter struct {
	u    *uploader
	cur  []*chunk // per share: the chunk being filled
	next []int64  // per share: next expected offset
	pool sync.Pool
}

func newShareWriter(u *uploader) *shareWriter {
	w := &shareWriter{u: u, cur: make([]*chunk, u.p.N), next: make([]int64, u.p.N)}
	size := u.opts.ChunkSize
	w.pool.New = func() any { b := make([]byte, 0, size); return &b }
	return w
}

func (w *shareWriter) newChunk(off int64) *chunk {
	return &chunk{buf: *(w.pool.Get().(*[]byte)), off: off, w: w}
}

// WriteShare implements chk.ShareWriter.
func (w *shareWriter) WriteShare(sh int, p []byte, off int64) error {
	u := w.u
	if len(u.byShare[sh]) == 0 {
		return nil // nobody receives this share (it exists elsewhere, or is homeless)
	}
	if off != w.next[sh] {
		return fmt.Errorf("upload: internal error: share %d written at %d, expected %d", sh, off, w.next[sh])
	}
	for len(p) > 0 {
		c := w.cur[sh]
		if c == nil {
			c = w.newChunk(w.next[sh])
			w.cur[sh] = c
		} else if len(c.buf) == cap(c.buf) {
			if err := w.dispatch(sh, c); err != nil {
				return err
			}
			c = w.newChunk(w.next[sh])
			w.cur[sh] = c
		}
		n := copy(c.buf[len(c.buf):cap(c.buf)], p)
		c.buf = c.buf[:len(c.buf)+n]
		p = p[n:]
		w.next[sh] += int64(n)
	}
	return nil
}

// dispatch queues a full chunk to every live bucket of its share, waiting
// while their queues are full (this is the backpressure that keeps memory
// flat: the encoder runs no faster than the slowest live bucket).
func (w *shareWriter) dispatch(sh int, c *chunk) error {
	u := w.u
	u.mu.Lock()
	var live []*bucket
	for _, b := range u.byShare[sh] {
		if !b.failed {
			live = append(live, b)
		}
	}
	u.mu.Unlock()
	c.refs.Store(int32(len(live)) + 1) // +1 held until every send is done
	defer c.release()
	for i, b := range live {
		select {
		case b.ch <- c:
		case <-u.ctx.Done():
			for range live[i:] {
				c.release()
			}
			return context.Cause(u.ctx)
		}
	}
	return nil
}

// work writes the chunks queued for b, in order. After a failure it keeps
// draining its queue so that the encoder never blocks on a dead server.
func (u *uploader) work(b *bucket) {
	for c := range b.ch {
		u.mu.Lock()
		failed := b.failed
		u.mu.Unlock()
		if !failed {
			if _, err := u.writeChunk(b, c); err != nil {
				u.fail(b, err)
			}
		}
		c.release()
	}
}

// writeChunk sends one chunk and reports whether the share is now
// complete on the server.
func (u *uploader) writeChunk(b *bucket, c *chunk) (bool, error) {
	ctx, cancel := context.WithTimeout(u.ctx, u.opts.WriteTimeout)
	defer cancel()
	start := time.Now()
	prog, err := b.t.c.WriteShareChunk(ctx, u.si, uint16(b.sh), b.t.uploadSecret, uint64(c.off), c.buf)
	if err != nil {
		if ctx.Err() != nil && u.ctx.Err() == nil {
			err = fmt.Errorf("no answer within %v: %w", u.opts.WriteTimeout, err)
		}
		return false, err
	}
	b.t.s.RecordSuccess(time.Since(start))
	return prog.Finished, nil
}

// fail drops a bucket. If the shares still alive can no longer make the
// upload happy, the whole upload is cancelled with an UnhappyError.
func (u *uploader) fail(b *bucket, err error) {
	u.recordErr(b.t.s, err)
	u.mu.Lock()
	defer u.mu.Unlock()
	if b.failed {
		return
	}
	b.failed, b.err = true, err
	u.sel.lastErr = fmt.Errorf("%s: share %d: %w", b.t.s, b.sh, err)
	if u.ctx.Err() != nil {
		return
	}
	layout := u.sel.layout(u.aliveLocked)
	if happy(layout, u.p.Happy) {
		return
	}
	u.cancel(u.sel.unhappy(layout, fmt.Errorf("lost share %d on %s: %w", b.sh, b.t.s, err)))
}

// aliveLocked reports whether the bucket for (t, sh) has not failed.
// Callers hold u.mu.
func (u *uploader) aliveLocked(t *tracker, sh int) bool {
	for _, b := range u.byShare[sh] {
		if b.t == t {
			return !b.failed
		}
	}
	return false
}

// abortAll cancels every bucket that has not completed, so that servers
// drop the partial shares at once instead of after their idle timeout.
// It uses its own context: the upload's may already be cancelled.
func (u *uploader) abortAll() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(u.ctx), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	u.mu.Lock()
	for _, b := range u.buckets {
		if b.complete {
			continue
		}
		wg.Go(func() {
			err := b.t.c.AbortUpload(ctx, u.si, uint16(b.sh), b.t.uploadSecret)
			_ = err // best effort: a dead server forgets the upload when it restarts
		})
	}
	u.mu.Unlock()
	wg.Wait()
}

// commit sends the held-back last chunk of every live bucket, completing
// the shares. A bucket that fails now is dropped like any other.
func (u *uploader) commit(w *shareWriter) {
	var wg sync.WaitGroup
	u.mu.Lock()
	for _, b := range u.buckets {
		if b.failed {
			continue
		}
		c := w.cur[b.sh]
		wg.Go(func() {
			done, err := u.writeChunk(b, c)
			if err == nil && !done {
				err = errors.New("server did not report the share complete after its last byte")
			}
			if err != nil {
				u.fail(b, err)
				return
			}
			u.mu.Lock()
			b.complete = true
			u.mu.Unlock()
		})
	}
	u.mu.Unlock()
	wg.Wait()
}
