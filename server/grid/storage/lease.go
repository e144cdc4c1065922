package storage

import (
	"net/http"

	"github.com/communitycube/cube/server/grid/storage/container"
	"github.com/communitycube/cube/server/grid/storage/wire"
)

// handleLease adds a lease to, or renews the matching lease on, every share
// (immutable or mutable) under the storage index: 204 on success, 404 if
// there are no shares. Renewals are allowed in read-only mode: refusing
// them would only make a read-only node's data expire.
func (s *Server) handleLease(w http.ResponseWriter, r *http.Request, rq *request) error {
	unlock := s.lockSI(rq.si)
	defer unlock()
	shares, err := s.backend.List(rq.si)
	if err != nil {
		return err
	}
	if len(shares) == 0 {
		return errorf(http.StatusNotFound, "no shares for this storage index")
	}
	lr := s.leaseRequest(rq.secrets[wire.LeaseRenewSecret], rq.secrets[wire.LeaseCancelSecret], 1)
	for _, sh := range shares {
		o, err := s.openShare(rq.si, sh)
		if err != nil {
			s.log.Warn("cannot renew lease on unreadable share", "si", rq.si.String(), "shnum", sh, "err", err)
			continue
		}
		err = s.renewOpened(rq.si, sh, o, lr)
		o.close()
		if err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// renewOpened adds or renews a lease on an open share, syncs it and updates
// the lease index. Callers hold the storage index lock.
func (s *Server) renewOpened(si wire.StorageIndex, shnum uint16, o *openedShare, lr container.LeaseRequest) error {
	leases, err := o.addOrRenewLease(lr)
	if err != nil {
		return err
	}
	if err := o.c.Sync(); err != nil {
		return err
	}
	s.indexPut(si, shnum, o.kind == container.KindMutable, leases)
	return nil
}
