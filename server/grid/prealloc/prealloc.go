// Package prealloc reserves disk blocks for a file that is about to be
// written, without changing its length, so that a full disk shows up when
// an upload starts rather than half-way through it, and the file is laid
// out in few extents. (It does not make the writes themselves cheaper: on
// the build machine, with and without it, 256 MiB in fsync'd 1 MiB writes
// cost the same CPU; an earlier measurement that said otherwise was an
// artefact of the file system's online discard.)
package prealloc

import "os"

// File reserves size bytes for f from its start, keeping its length. Where
// the file system or the platform cannot, it does nothing: preallocation
// is an optimisation, never a requirement.
func File(f *os.File, size int64) error {
	if size <= 0 {
		return nil
	}
	return fallocate(f, size)
}
