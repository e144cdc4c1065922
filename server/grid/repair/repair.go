package repair

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/download"
	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
)

// Result is the outcome of Repair.
type Result struct {
	// Pre is the check before repairing, Post the check after (the same
	// report if no repair was needed).
	Pre, Post *Report
	// Attempted is false when the file was healthy already.
	Attempted bool
	// Successful means Post is healthy.
	Successful bool
	// Upload describes where the regenerated shares went.
	Upload *upload.Result
}

// ErrUnrecoverable is returned when fewer than k good shares exist.
var ErrUnrecoverable = errors.New("repair: file is unrecoverable: fewer than k good shares")

// Repair checks the file v names (verifying it if opts.Verify) and, if it
// is not healthy, regenerates its missing shares and places them, then
// checks again. It needs no key: it downloads the ciphertext with the
// verify cap (every block verified as usual), re-encodes it with the
// file's own k, N and segment size (which gives back byte-identical
// shares, as the encoding is deterministic), and uploads like a normal
// upload with happiness "best effort", as Tahoe's repairer does: shares
// found on the first 2N servers of the ring stay where they are, missing
// ones go where the placement rules put them, so a file that lost servers
// spreads onto new ones. Shares found corrupt are treated as missing, and
// their holders are not asked to store them again (they would claim to
// have them). Before any regenerated share is completed, the new UEB hash
// is compared with the cap's; a mismatch aborts the repair.
//
// A repair that could not make the file healthy (say, too few servers)
// still places what it can; Successful tells.
func Repair(ctx context.Context, b broker.Broker, v cap.Verifier, opts *Options) (*Result, error) {
	o := opts.withDefaults()
	if len(o.LeaseSecret) != 32 {
		return nil, fmt.Errorf("repair: %w", broker.ErrLeaseSecret)
	}
	pre, err := Check(ctx, b, v, &o)
	if err != nil {
		return nil, err
	}
	res := &Result{Pre: pre, Post: pre}
	if pre.Healthy {
		return res, nil
	}
	if !pre.Recoverable {
		return res, fmt.Errorf("%w (%s)", ErrUnrecoverable, pre.Summary)
	}
	res.Attempted = true
	distrust := map[string][]int{}
	for _, c := range pre.Corrupt {
		distrust[c.ServerID] = append(distrust[c.ServerID], c.Shnum)
	}

	r, err := download.OpenCiphertext(ctx, b, v, &download.Options{Parallel: o.Parallel, QueryTimeout: o.QueryTimeout, ReadTimeout: o.ReadTimeout})
	if err != nil {
		return res, fmt.Errorf("repair: reading the file: %w", err)
	}
	defer r.Close()
	lay, err := r.Layout()
	if err != nil {
		return res, fmt.Errorf("repair: reading the file: %w", err)
	}
	p := upload.Params{K: v.K, N: v.N, MaxSegmentSize: lay.SegmentSize}
	if got := p.Chk().SegmentSize(v.Size); got != lay.SegmentSize {
		return res, fmt.Errorf("repair: cannot reproduce segment size %d (would get %d)", lay.SegmentSize, got)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := r.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	uopts := &upload.Options{
		LeaseSecret:  o.LeaseSecret,
		QueryTimeout: o.QueryTimeout,
		Distrust:     distrust,
		BeforeCommit: func(enc *chk.Result) error {
			if enc.UEBHash != v.UEBHash {
				return errors.New("repair: re-encoded file has a different UEB hash; not storing its shares")
			}
			return nil
		},
	}
	up, err := upload.Upload(ctx, b, v.StorageIndex, pr, v.Size, p, uopts)
	pr.CloseWithError(errors.New("repair: upload finished"))
	if err != nil {
		return res, fmt.Errorf("repair: %w", err)
	}
	res.Upload = up
	post, err := check(ctx, b, v, &Options{Happy: o.Happy, Parallel: o.Parallel, QueryTimeout: o.QueryTimeout}, distrust)
	if err != nil {
		return res, err
	}
	res.Post = post
	res.Successful = post.Healthy
	return res, nil
}
