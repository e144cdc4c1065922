package upload

import (
	"errors"
	"fmt"
	"math"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
)

// Params are a file's encoding parameters and the upload's placement goal.
type Params struct {
	// K shares are needed to read the file; N are produced.
	K, N int
	// Happy is the servers-of-happiness an upload must reach: shares on at
	// least Happy servers such that any K of them can rebuild the file.
	// Zero means "best effort" (the repairer's setting).
	Happy int
	// MaxSegmentSize bounds the segment size (Tahoe's max_segment_size).
	MaxSegmentSize int64
}

// DefaultParams are Tahoe's defaults: 3-of-10, happy 7, 128 KiB segments.
var DefaultParams = Params{K: 3, Happy: 7, N: 10, MaxSegmentSize: DefaultSegmentSize}

// DefaultSegmentSize is CommunityCube's maximum segment size: 1 MiB, eight
// times Tahoe-LAFS's 128 KiB. Larger segments mean an eighth of the block
// requests, hash-tree leaves and per-segment work for the same file, at the
// cost of reading a whole 1 MiB segment to serve any byte of it.
const DefaultSegmentSize = 1 << 20

// ErrParams is wrapped by parameter validation errors.
var ErrParams = errors.New("upload: invalid parameters")

// Validate checks 1 ≤ K ≤ N ≤ 256, 0 ≤ Happy ≤ N and a positive segment
// size. Happy below K is allowed but means a "happy" upload may still be
// unreadable after losing servers, so ParamsFor never produces it.
func (p Params) Validate() error {
	if p.K < 1 || p.K > p.N || p.N > cap.MaxShares {
		return fmt.Errorf("%w: k=%d n=%d (need 1 <= k <= n <= %d)", ErrParams, p.K, p.N, cap.MaxShares)
	}
	if p.Happy < 0 || p.Happy > p.N {
		return fmt.Errorf("%w: happy=%d must be between 0 and n=%d", ErrParams, p.Happy, p.N)
	}
	if p.MaxSegmentSize < 1 {
		return fmt.Errorf("%w: max segment size %d", ErrParams, p.MaxSegmentSize)
	}
	return nil
}

// Chk returns the encoder's parameters.
func (p Params) Chk() chk.Params {
	return chk.Params{K: p.K, N: p.N, MaxSegmentSize: p.MaxSegmentSize}
}

// ParamsFor adapts p to a grid of numServers servers. With at least Happy
// servers p is returned unchanged. With fewer, an upload could never be
// happy, so Happy is lowered to numServers and K and N are scaled by the
// same factor numServers/Happy (rounded to nearest), keeping the expansion
// factor N/K and the share of servers one may lose about the same, then
// clamped so that 1 ≤ K ≤ Happy ≤ N ≤ 256. Examples from 3/7/10: 1 server
// gives 1/1/1, 2 give 1/2/3, 4 give 2/4/6, 5 give 2/5/7, 6 give 3/6/9.
// numServers ≤ 0 returns p unchanged (the upload will fail and say why).
func ParamsFor(numServers int, p Params) Params {
	if numServers <= 0 || numServers >= p.Happy || p.Happy == 0 {
		return p
	}
	f := float64(numServers) / float64(p.Happy)
	out := p
	out.Happy = numServers
	out.K = int(math.Round(float64(p.K) * f))
	out.N = int(math.Round(float64(p.N) * f))
	out.K = max(1, min(out.K, out.Happy))
	out.N = min(cap.MaxShares, max(out.N, out.Happy))
	return out
}
