package helper

import "github.com/communitycube/cube/shared/hashtree"

// SetFault makes the staging writes of s fail as f decides: before writing
// n bytes at off, f may return an error, and then only its first k bytes
// are written; nil removes the fault.
func SetFault(s *Service, f func(off int64, n int) (k int, err error)) {
	if f == nil {
		s.fault.Store(nil)
		return
	}
	s.fault.Store(&f)
}

// EncodeFinishBody encodes the body of a finish request.
func EncodeFinishBody(h *hashtree.Hash) []byte { return encodeFinish(h) }

// DecodeFinishBody decodes the body of a finish request.
func DecodeFinishBody(b []byte) (*hashtree.Hash, error) { return decodeFinish(b) }
