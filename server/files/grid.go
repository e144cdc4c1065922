package files

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/download"
	"github.com/communitycube/cube/server/grid/helper"
	"github.com/communitycube/cube/server/grid/repair"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/hashtree"
)

// Ciphertext is a stored file's verified ciphertext, being read from the
// grid. Its size is the verify cap's.
type Ciphertext interface {
	io.ReaderAt
	io.Closer
}

// Grid gives the web API the node's grid roles: the helper for uploads,
// the grid (through the node's storage broker) for contents, proofs and
// leases. It implements httpapi.Uploads (when Helper is set),
// httpapi.Content and Leaser.
type Grid struct {
	Helper *helper.Service // nil: the node has no helper
	Broker broker.Broker
	// Encoding is the node's upload encoding (node.json), fitted to the
	// grid's size at each upload as the CLI does (upload.ParamsFor).
	Encoding helper.Params
	// LeaseSecret is the node's master lease secret: uploads through the
	// helper take leases with it, and the renewer renews them with it.
	LeaseSecret broker.LeaseSecret
	// Download tunes content reads; nil is fine.
	Download *download.Options
}

// Params returns the encoding of a new upload on the grid as it is now.
func (g *Grid) Params() helper.Params {
	return helper.Params(upload.ParamsFor(len(g.Broker.Servers()), upload.Params(g.Encoding)))
}

// Servers is how many storage servers the node knows now.
func (g *Grid) Servers() int { return len(g.Broker.Servers()) }

// Begin implements httpapi.Uploads.
func (g *Grid) Begin(ctx context.Context, si wire.StorageIndex, spec helper.Spec) (helper.Status, error) {
	return g.Helper.Begin(ctx, si, spec)
}

// WriteChunk implements httpapi.Uploads.
func (g *Grid) WriteChunk(ctx context.Context, si wire.StorageIndex, off int64, r io.Reader, n int64) (helper.Status, error) {
	return g.Helper.WriteChunk(ctx, si, off, r, n)
}

// FinishWithHash implements httpapi.Uploads.
func (g *Grid) FinishWithHash(ctx context.Context, si wire.StorageIndex, h *hashtree.Hash) (*helper.Placed, error) {
	return g.Helper.FinishWithHash(ctx, si, h)
}

// Status implements httpapi.Uploads.
func (g *Grid) Status(si wire.StorageIndex) (helper.Status, error) { return g.Helper.Status(si) }

// Abort implements httpapi.Uploads.
func (g *Grid) Abort(ctx context.Context, si wire.StorageIndex) error { return g.Helper.Abort(ctx, si) }

// UploadAlive reports whether the helper still holds an upload session
// (for Store.Housekeeping).
func (g *Grid) UploadAlive(si wire.StorageIndex) bool {
	if g.Helper == nil {
		return false
	}
	_, err := g.Helper.Status(si)
	return err == nil
}

// OpenCiphertext implements httpapi.Content. It reads the UEB before
// returning, so a file the grid cannot deliver fails here, before an HTTP
// answer has begun.
func (g *Grid) OpenCiphertext(ctx context.Context, v cap.Verifier) (Ciphertext, error) {
	r, err := download.OpenCiphertext(ctx, g.Broker, v, g.Download)
	if err != nil {
		return nil, err
	}
	if _, err := r.Layout(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Proof implements httpapi.Content.
func (g *Grid) Proof(ctx context.Context, v cap.Verifier) (*chk.Proof, error) {
	return download.ReadProof(ctx, g.Broker, v, g.Download)
}

// AddLease implements Leaser: it renews the node's lease on every share of
// the file on every server holding one. It fails if no share was found or
// a server holding shares did not renew.
func (g *Grid) AddLease(ctx context.Context, v cap.Verifier) error {
	rep, err := repair.AddLease(ctx, g.Broker, v, g.LeaseSecret)
	if err != nil {
		return err
	}
	if rep.GoodShares == 0 {
		return errors.New("no share of the file was found on the grid")
	}
	var errs []error
	for _, s := range rep.Servers {
		if len(s.Shares) > 0 && !s.LeaseRenewed {
			errs = append(errs, fmt.Errorf("server %s: %s", s.ID, s.LeaseError))
		}
	}
	return errors.Join(errs...)
}
