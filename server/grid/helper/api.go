// Package helper implements the upload helper role of the grid: a service
// that receives an immutable file's ciphertext from an uploader (resumably,
// in chunks, staged on disk), then erasure-codes it and places the shares on
// storage servers, so that the uploader sends each byte once instead of n/k
// times. It follows the idea of Tahoe-LAFS's helper (offloaded.py): the
// helper only ever sees ciphertext, holds partial uploads on disk so an
// interrupted upload resumes where it stopped, and first asks the grid
// whether the file is already there.
//
// The package has three parts:
//
//   - Service: upload sessions keyed by storage index, independent of HTTP
//     and of authorisation, so the node can also expose it to signed-in
//     browser users through its web API.
//   - NewHandler: the /helper/v1/ HTTP endpoints for grid clients (CLI,
//     other nodes), authorised by the helper's swissnum.
//   - Client: uploads through a helper from its NURL, resuming after any
//     failure.
//
// Erasure coding and share placement are not done here: the Service hands
// the staged ciphertext to a Placer. The protocol is specified in
// docs/spec/helper.md.
package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/hashtree"
)

// Params are the encoding parameters the uploader chose. They must be the
// ones the uploader derived its key from: a convergent key (and so the
// storage index) commits to K, N and the effective segment size, so the
// helper cannot substitute its own.
//
// The fields are those of upload.Params, in the same order, so that one
// converts to the other.
type Params struct {
	K              int   // shares needed to read the file
	N              int   // shares produced
	Happy          int   // servers of happiness the placement must reach
	MaxSegmentSize int64 // Tahoe's max_segment_size
}

// CHK returns the erasure-coding part of p.
func (p Params) CHK() chk.Params {
	return chk.Params{K: p.K, N: p.N, MaxSegmentSize: p.MaxSegmentSize}
}

// Validate reports whether p is usable for a file of the given size.
func (p Params) Validate(size int64) error {
	if err := p.CHK().Validate(); err != nil {
		return err
	}
	if p.Happy < 1 || p.Happy > p.N {
		return fmt.Errorf("%w: happy=%d (need 1 <= happy <= n=%d)", chk.ErrParams, p.Happy, p.N)
	}
	_, err := p.CHK().Layout(size)
	return err
}

// Spec is what an uploader states when it begins or resumes an upload.
type Spec struct {
	// Size is the ciphertext (= plaintext) length in bytes.
	Size int64
	// Params are the encoding parameters.
	Params Params
	// CrypttextHash, if set, is Tahoe's crypttext_hash of the whole
	// ciphertext (see NewCrypttextHasher). The service verifies it before
	// placing anything, and since the same value is recorded in the UEB,
	// an uploader can check the returned UEB against it end to end.
	CrypttextHash *hashtree.Hash
}

// tagCrypttext is the tag of the CHK format's whole-file ciphertext hash
// (the UEB's crypttext_hash; see docs/spec/chk.md).
const tagCrypttext = "allmydata_crypttext_v1"

// NewCrypttextHasher returns a hasher for Spec.CrypttextHash: write the
// whole ciphertext to it, in order, and take Sum. It is SHA-256d over a
// tagged prefix, so it costs about what a plain SHA-256 does, and an
// uploader can run it while it encrypts.
func NewCrypttextHasher() *hashtree.Hasher { return hashtree.NewHasher(tagCrypttext) }

// Placed describes a file stored on the grid. Treat it as read-only.
type Placed struct {
	// VerifyCap names the file: storage index, UEB hash, k, n and size.
	// Its String form is the verify cap.
	VerifyCap cap.Verifier
	// UEB is the serialised URI extension block, when the placer has it.
	// Its hash is VerifyCap.UEBHash; it lets the uploader check the
	// crypttext hash the helper encoded.
	UEB []byte
	// Happiness is the servers-of-happiness value the placement reached.
	Happiness int
	// Shares maps each share number to the ids of the servers holding it.
	Shares map[int][]string
	// Pushed counts the shares this upload sent; Preexisting those that
	// were already on the grid.
	Pushed, Preexisting int
}

// ReadCap returns the read cap of the file, given the key the uploader
// encrypted it with (the helper never has it).
func (p *Placed) ReadCap(key chk.Key) cap.CHK {
	v := p.VerifyCap
	return cap.CHK{Key: key, UEBHash: v.UEBHash, K: v.K, N: v.N, Size: v.Size}
}

func (p *Placed) clone() *Placed {
	if p == nil {
		return nil
	}
	c := *p
	c.UEB = slices.Clone(p.UEB)
	if p.Shares != nil {
		c.Shares = make(map[int][]string, len(p.Shares))
		for k, v := range p.Shares {
			c.Shares[k] = slices.Clone(v)
		}
	}
	return &c
}

// check reports whether p plausibly describes the file si of the given
// spec: a placer or checker bug must not turn into a wrong cap.
func (p *Placed) check(si wire.StorageIndex, spec Spec) error {
	if p == nil {
		return errors.New("no result")
	}
	v := p.VerifyCap
	switch {
	case v.StorageIndex != si:
		return errors.New("result names another storage index")
	case v.Size != spec.Size || v.K != spec.Params.K || v.N != spec.Params.N:
		return fmt.Errorf("result is for size=%d k=%d n=%d, upload is size=%d k=%d n=%d",
			v.Size, v.K, v.N, spec.Size, spec.Params.K, spec.Params.N)
	}
	if p.UEB == nil {
		return nil
	}
	if chk.UEBHash(p.UEB) != v.UEBHash {
		return errors.New("UEB does not hash to the verify cap's UEB hash")
	}
	u, err := chk.ParseUEB(p.UEB)
	if err != nil {
		return err
	}
	if u.Size != spec.Size || u.K != spec.Params.K || u.N != spec.Params.N {
		return errors.New("UEB disagrees with the upload's size or encoding")
	}
	if spec.CrypttextHash != nil && u.HasCrypttextHash && u.CrypttextHash != *spec.CrypttextHash {
		return errors.New("UEB's crypttext hash differs from the uploader's")
	}
	return nil
}

// sortedShares lists Shares' keys in order, for deterministic output.
func (p *Placed) sortedShares() []int { return slices.Sorted(maps.Keys(p.Shares)) }

// Placer erasure-codes ciphertext and stores the shares on the grid. The
// upload package implements it.
type Placer interface {
	// Place reads exactly size bytes of ciphertext from r (sequentially;
	// r must not be used after Place returns), encodes them with p and
	// places the shares under si, reaching p.Happy. Its error text is
	// shown to uploaders, so it must not contain secrets.
	Place(ctx context.Context, si wire.StorageIndex, r io.Reader, size int64, p Params) (*Placed, error)
}

// Checker finds out whether a file is already stored on the grid. The
// helper asks it before accepting a new upload, so a file someone already
// uploaded (same convergent key, so same storage index) is not sent again.
type Checker interface {
	// AlreadyStored reports whether enough shares of si are on the grid
	// that uploading again would add nothing, and if so describes them.
	AlreadyStored(ctx context.Context, si wire.StorageIndex) (*Placed, bool, error)
}

// State is the state of an upload session.
type State string

// Session states.
const (
	// StateReceiving: ciphertext is being received (Received < Size), or
	// all of it is in and finish has not been asked for or has failed.
	StateReceiving State = "receiving"
	// StatePlacing: the ciphertext is being encoded and placed.
	StatePlacing State = "placing"
	// StateStored: the file is on the grid; Status.Result describes it.
	StateStored State = "stored"
)

// Status is the state of one upload.
type Status struct {
	State    State
	Size     int64
	Received int64 // bytes of ciphertext held, from offset 0
	// SegmentSize is the file's segment size (the encoding's, as in the
	// UEB): an uploader that hashes segments itself (the crypttext root
	// hash) cuts the ciphertext by it. 0 if unknown.
	SegmentSize int64
	Result      *Placed // set in StateStored
	// LastError says why the last placement attempt failed, if it did.
	LastError string
}

// Load is the helper's current load, for its announcement.
type Load struct {
	Sessions     int   // open upload sessions (receiving or placing)
	Placing      int   // sessions being placed or queued for placement
	StagedBytes  int64 // ciphertext held in the staging directory
	PlacingBytes int64 // ciphertext of the sessions being placed
}

// Errors returned by the Service and, for the matching HTTP status, by the
// Client (test with errors.Is). Their text is safe to show an uploader.
var (
	ErrInvalid             = errors.New("helper: invalid request")                  // 400
	ErrUnauthorized        = errors.New("helper: not authorised")                   // 401
	ErrNotFound            = errors.New("helper: no such upload")                   // 404
	ErrConflict            = errors.New("helper: conflicts with the upload")        // 409
	ErrTooLarge            = errors.New("helper: too large")                        // 413
	ErrRange               = errors.New("helper: range not acceptable")             // 416
	ErrIntegrity           = errors.New("helper: ciphertext fails integrity check") // 422
	ErrPlacement           = errors.New("helper: placing the shares failed")        // 502
	ErrBusy                = errors.New("helper: busy, try again later")            // 503
	ErrInsufficientStorage = errors.New("helper: not enough staging space")         // 507
)
