package download

import (
	"context"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
)

// ReadProof finds the shares of the file v names and reads its proof (the
// UEB and the crypttext segment hashes, see chk.Proof) from the fastest
// share that yields a valid one; corrupt shares are reported to their
// servers as a download would. It needs no key.
func ReadProof(ctx context.Context, b broker.Broker, v cap.Verifier, opts *Options) (*chk.Proof, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	src, err := newSource(ctx, b, v, opts)
	if err != nil {
		return nil, err
	}
	defer src.close()
	return chk.ReadProof(v, src, src.decoderOptions())
}
