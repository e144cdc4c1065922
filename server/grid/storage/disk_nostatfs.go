//go:build !(linux || darwin || freebsd)

package storage

import "math"

// diskAvailable has no portable implementation here; report "unlimited",
// as Tahoe does on platforms without disk statistics. Reserved space cannot
// be honoured on such platforms.
func diskAvailable(dir string) (int64, error) { return math.MaxInt64, nil }
