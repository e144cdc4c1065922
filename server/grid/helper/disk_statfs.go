//go:build linux || darwin || freebsd

package helper

import "syscall"

// diskAvailable reports the bytes available to unprivileged users on the
// file system holding dir (f_bavail: root's reserve is not ours to use).
func diskAvailable(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return max(int64(st.Bavail)*int64(st.Bsize), 0), nil
}
