//go:build linux || darwin || freebsd

package storage

import "syscall"

// diskAvailable reports the bytes available to unprivileged users on the
// file system holding dir (f_bavail, not f_bfree: root's reserve is not
// ours to use).
func diskAvailable(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	avail := int64(st.Bavail) * int64(st.Bsize)
	if avail < 0 {
		avail = 0
	}
	return avail, nil
}
