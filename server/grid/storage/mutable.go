package storage

import (
	"bytes"
	"errors"
	"net/http"
	"slices"

	"github.com/communitycube/cube/server/grid/storage/container"
	"github.com/communitycube/cube/server/grid/storage/wire"
)

func (s *Server) handleReadTestWrite(w http.ResponseWriter, r *http.Request, rq *request) error {
	body, err := readCBOR(w, r, s.cfg.MaxReadTestWriteSize)
	if err != nil {
		return err
	}
	req, err := wire.DecodeReadTestWriteRequest(body)
	if err != nil {
		return badRequest(err)
	}
	for _, v := range req.TestWriteVectors {
		for _, wv := range v.Write {
			if wv.Offset+uint64(len(wv.Data)) > uint64(s.cfg.MaxMutableShareSize) {
				return errorf(http.StatusRequestEntityTooLarge, "write would exceed maximum-mutable-share-size %d", s.cfg.MaxMutableShareSize)
			}
		}
	}
	resp, err := s.readTestWrite(rq.si, rq.secrets, req)
	if err != nil {
		return err
	}
	return writeCBOR(w, r, http.StatusOK, wire.EncodeReadTestWriteResponse(resp))
}

// readTestWrite implements the mutable read-test-and-write operation with
// Tahoe's semantics:
//
//  1. Every existing share of the slot must carry the presented write
//     enabler (401 otherwise), even shares the request does not mention.
//  2. Each test vector compares the (clipped) bytes at its offset with its
//     specimen; a missing share reads as empty.
//  3. The read vector is evaluated against every existing share, before
//     any write.
//  4. Only if all tests pass: writes are applied in share-number order;
//     new-length truncates (0 deletes the share); shares mentioned but
//     missing are created (even with no writes); every share that still
//     exists gets its lease added or renewed.
func (s *Server) readTestWrite(si wire.StorageIndex, sec wire.Secrets, req wire.ReadTestWriteRequest) (wire.ReadTestWriteResponse, error) {
	resp := wire.ReadTestWriteResponse{Data: map[uint16][][]byte{}}
	unlock := s.lockSI(si)
	defer unlock()

	existing, err := s.backend.List(si)
	if err != nil {
		return resp, err
	}
	shares := map[uint16]*openedShare{}
	defer func() {
		for _, o := range shares {
			o.close()
		}
	}()
	for _, sh := range existing {
		o, err := s.openShare(si, sh)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return resp, err
		}
		shares[sh] = o
		if o.kind != container.KindMutable {
			return resp, errorf(http.StatusConflict, "storage index holds immutable shares")
		}
		if !o.mut.CheckWriteEnabler(sec[wire.WriteEnabler]) {
			s.log.Warn("bad write enabler", "si", si.String(), "shnum", sh)
			return resp, errorf(http.StatusUnauthorized, "wrong write enabler")
		}
	}

	success := true
tests:
	for _, sh := range sortedShares(req.TestWriteVectors) {
		for _, tv := range req.TestWriteVectors[sh].Test {
			var got []byte
			if o := shares[sh]; o != nil {
				// Reading one byte more than the specimen is enough to
				// decide equality and bounds the allocation by the request.
				got, err = o.mut.ReadData(tv.Offset, min(tv.Size, uint64(len(tv.Specimen))+1))
				if err != nil {
					return resp, err
				}
			}
			if !bytes.Equal(got, tv.Specimen) {
				success = false
				break tests
			}
		}
	}

	budget := s.cfg.MaxReadTestWriteSize
	for _, sh := range sortedShares(shares) {
		m := shares[sh].mut
		reads := make([][]byte, 0, len(req.ReadVector))
		for _, rv := range req.ReadVector {
			if avail := m.DataLength() - int64(min(rv.Offset, uint64(m.DataLength()))); avail > 0 {
				budget -= min(avail, int64(rv.Size))
			}
			if budget < 0 {
				return resp, errorf(http.StatusBadRequest, "read vectors would return more than %d bytes", s.cfg.MaxReadTestWriteSize)
			}
			b, err := m.ReadData(rv.Offset, rv.Size)
			if err != nil {
				return resp, err
			}
			reads = append(reads, b)
		}
		resp.Data[sh] = reads
	}
	resp.Success = success
	if !success || len(req.TestWriteVectors) == 0 {
		return resp, nil
	}

	if s.cfg.ReadOnly {
		return resp, errorf(http.StatusInsufficientStorage, "server is read-only")
	}
	var need int64
	for sh, v := range req.TestWriteVectors {
		if v.NewLength != nil && *v.NewLength == 0 {
			continue
		}
		var end int64
		for _, wv := range v.Write {
			end = max(end, int64(wv.Offset)+int64(len(wv.Data)))
		}
		if o := shares[sh]; o != nil {
			need += o.mut.GrowthFor(end)
		} else {
			// Header, lease slots and extra-lease count, then the data.
			need += container.MutableDataOffset + 4 + end
		}
	}
	// A renewal that needs an extra lease record (92 bytes) is not
	// counted: it is too small to matter and refusing it would let data
	// expire on a full server.
	if need > 0 && need > s.allocatable() {
		return resp, errorf(http.StatusInsufficientStorage, "not enough space for this write")
	}

	var we [32]byte
	copy(we[:], sec[wire.WriteEnabler])
	lr := s.leaseRequest(sec[wire.LeaseRenewSecret], sec[wire.LeaseCancelSecret], 1)
	for _, sh := range sortedShares(req.TestWriteVectors) {
		v := req.TestWriteVectors[sh]
		o := shares[sh]
		if v.NewLength != nil && *v.NewLength == 0 {
			// "delete-mutable-shares-with-zero-length-writev"
			if o != nil {
				o.close()
				delete(shares, sh)
				if err := s.backend.Delete(si, sh); err != nil && !errors.Is(err, ErrNotFound) {
					return resp, err
				}
				s.indexRemove(si, sh)
			}
			continue
		}
		if o != nil {
			if err := applyWrites(o.mut, v); err != nil {
				return resp, err
			}
			if err := s.renewOpened(si, sh, o, lr); err != nil {
				return resp, err
			}
			continue
		}
		if err := s.createMutable(si, sh, we, v, lr); err != nil {
			return resp, err
		}
	}
	return resp, nil
}

// createMutable writes a new mutable share completely in an incoming
// container and then publishes it, so a crash never leaves a half-made
// share behind.
func (s *Server) createMutable(si wire.StorageIndex, sh uint16, we [32]byte, v wire.TestWriteVectors, lr container.LeaseRequest) error {
	inc, err := s.backend.CreateIncoming(si, sh)
	if err != nil {
		return err
	}
	m, err := container.CreateMutable(inc, s.cfg.NodeID, we)
	if err == nil {
		err = applyWrites(m, v)
	}
	var leases []container.Lease
	if err == nil {
		leases, err = m.AddOrRenewLease(lr)
	}
	if err != nil {
		inc.Abort()
		return err
	}
	if err := inc.Commit(); err != nil {
		if errors.Is(err, ErrExists) {
			return errorf(http.StatusConflict, "share appeared concurrently")
		}
		return err
	}
	s.indexPut(si, sh, true, leases)
	return nil
}

func applyWrites(m *container.Mutable, v wire.TestWriteVectors) error {
	for _, wv := range v.Write {
		if err := m.WriteData(int64(wv.Offset), wv.Data); err != nil {
			return err
		}
	}
	if v.NewLength != nil {
		return m.SetDataLength(int64(*v.NewLength))
	}
	return nil
}

// sortedShares returns the keys of m in ascending order, so that
// multi-share operations are applied in a deterministic order.
func sortedShares[V any](m map[uint16]V) []uint16 {
	out := make([]uint16, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
