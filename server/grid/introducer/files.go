package introducer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// writeFileAtomic replaces path with data so that a crash leaves either
// the old or the new content: a synced temporary file in the same
// directory, renamed over path, then the directory synced. Mode 0600:
// every file this package writes holds NURLs, and NURLs carry swissnums.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly after the rename
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. Platforms that cannot sync a
// directory say EINVAL (or EPERM/EACCES); there is nothing better to do
// there, so those are ignored.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, fs.ErrPermission) {
		return err
	}
	return nil
}

// sequencer hands out announcement sequence numbers that never go
// backwards, across restarts: each is max(last+1, now in Unix
// microseconds). The clock alone would survive a lost state file; the
// persisted last value alone would survive a clock set back; together a
// restart goes backwards only if both happen at once. Microseconds leave
// room for a million announcements a second and still fit 2^63 until the
// year 294246.
type sequencer struct {
	mu   sync.Mutex
	path string // "" keeps the last value in memory only
	now  func() time.Time
	last uint64
}

func newSequencer(path string, now func() time.Time) (*sequencer, error) {
	s := &sequencer{path: path, now: now}
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("introducer: %s: not a sequence number", path)
	}
	s.last = v
	return s, nil
}

// next returns a new sequence number greater than every earlier one and
// than floor, and persists it before returning it, so that nothing signed
// with it can be published and then forgotten.
func (s *sequencer) next(floor uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.last
	if floor > n {
		n = floor
	}
	if n == ^uint64(0) {
		return 0, errors.New("introducer: sequence numbers exhausted")
	}
	n++
	if t := s.now().UnixMicro(); t > 0 && uint64(t) > n {
		n = uint64(t)
	}
	if s.path != "" {
		if err := writeFileAtomic(s.path, []byte(strconv.FormatUint(n, 10)+"\n")); err != nil {
			return 0, err
		}
	}
	s.last = n
	return n, nil
}
