package scrub

import "bytes"

// seq reads the input front to back through a small window, for formats whose structure
// can only be found by walking it (JPEG entropy-coded data, GIF sub-blocks). Memory stays
// at one window whatever the file's size.
type seq struct {
	r      *reader
	buf    []byte // window: input bytes [off, off+len(buf))
	off    int64
	pos    int64 // next byte to read
	window int
}

func newSeq(r *reader, pos int64) *seq {
	return &seq{r: r, pos: pos, window: 64 << 10}
}

// fill makes the window hold pos, reading up to a window from it. False at end of input
// or on a read error (kept in err).
func (s *seq) fill() error {
	if s.pos >= s.off && s.pos < s.off+int64(len(s.buf)) {
		return nil
	}
	if s.pos >= s.r.size {
		return errTruncated
	}
	n := int(min(int64(s.window), s.r.size-s.pos))
	if cap(s.buf) < s.window {
		s.buf = make([]byte, s.window)
	}
	s.buf = s.buf[:n]
	if err := s.r.readAt(s.buf, s.pos); err != nil {
		s.buf = s.buf[:0]
		return err
	}
	s.off = s.pos
	return nil
}

func (s *seq) byte() (byte, error) {
	if err := s.fill(); err != nil {
		return 0, err
	}
	c := s.buf[s.pos-s.off]
	s.pos++
	return c, nil
}

// bytes returns the next n bytes (n small: at most a window).
func (s *seq) bytes(n int) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	if err := s.fill(); err != nil {
		return nil, err
	}
	i := s.pos - s.off
	if i+int64(n) <= int64(len(s.buf)) {
		s.pos += int64(n)
		return s.buf[i : i+int64(n)], nil
	}
	b, err := s.r.read(s.pos, n)
	if err != nil {
		return nil, err
	}
	s.pos += int64(n)
	return b, nil
}

func (s *seq) skip(n int64) error {
	if n < 0 || n > s.r.size-s.pos {
		s.pos = s.r.size
		return errTruncated
	}
	s.pos += n
	return nil
}

// indexByte advances to the next c and returns true, or to the end of input and false.
func (s *seq) indexByte(c byte) (bool, error) {
	for {
		if err := s.fill(); err != nil {
			if err == errTruncated {
				return false, nil
			}
			return false, err
		}
		w := s.buf[s.pos-s.off:]
		if i := bytes.IndexByte(w, c); i >= 0 {
			s.pos += int64(i)
			return true, nil
		}
		s.pos += int64(len(w))
	}
}
