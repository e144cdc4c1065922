//go:build !(linux || darwin || freebsd)

package helper

import "math"

// diskAvailable has no portable implementation here: report "unlimited",
// leaving the configured limits and the write errors themselves (mapped to
// ErrInsufficientStorage) to protect the disk.
func diskAvailable(string) (int64, error) { return math.MaxInt64, nil }
