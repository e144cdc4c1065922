package prealloc

import (
	"errors"
	"os"
	"syscall"
)

// falloc_fl_keep_size: allocate blocks, leave the file's length alone.
const keepSize = 0x01

func fallocate(f *os.File, size int64) error {
	err := syscall.Fallocate(int(f.Fd()), keepSize, 0, size)
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
	return nil
}
