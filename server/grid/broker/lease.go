package broker

import (
	"errors"
	"slices"

	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/placement"
	"github.com/communitycube/cube/shared/hashtree"
)

// Tags of Tahoe's lease secret derivation (allmydata.util.hashutil).
const (
	tagClientRenewal = "allmydata_client_renewal_secret_v1"
	tagClientCancel  = "allmydata_client_cancel_secret_v1"
	tagFileRenewal   = "allmydata_file_renewal_secret_v1"
	tagFileCancel    = "allmydata_file_cancel_secret_v1"
	tagBucketRenewal = "allmydata_bucket_renewal_secret_v1"
	tagBucketCancel  = "allmydata_bucket_cancel_secret_v1"
)

// LeaseSecret is a client's master lease secret: 32 random bytes kept for
// good (Tahoe's private/secret). Every lease the client holds is derived
// from it, per file and per server, so leases can be renewed later without
// remembering anything else, and a server learns nothing that would let it
// renew the client's leases elsewhere.
type LeaseSecret []byte

// ErrLeaseSecret is returned for a master secret of the wrong length.
var ErrLeaseSecret = errors.New("broker: lease secret must be 32 bytes")

// Derive returns the renew and cancel secrets for the shares of storage
// index si on the server with the given lease seed, exactly as Tahoe-LAFS
// derives them (docs/specifications/lease.rst):
//
//	client = H(tag=secret, "allmydata_client_renewal_secret_v1")
//	file   = H2("allmydata_file_renewal_secret_v1", client, si)
//	bucket = H2("allmydata_bucket_renewal_secret_v1", file, leaseSeed)
//
// and the same with the cancel tags. H and H2 are the tagged SHA-256d
// hashes of docs/spec/chk.md. Note the first step uses the secret as the
// tag, as Tahoe does.
func (l LeaseSecret) Derive(si, leaseSeed []byte) (gbs.LeaseSecrets, error) {
	if len(l) != 32 {
		return gbs.LeaseSecrets{}, ErrLeaseSecret
	}
	renew := chain(l, tagClientRenewal, tagFileRenewal, tagBucketRenewal, si, leaseSeed)
	cancel := chain(l, tagClientCancel, tagFileCancel, tagBucketCancel, si, leaseSeed)
	return gbs.LeaseSecrets{Renew: renew, Cancel: cancel}, nil
}

// For returns the lease secrets for si on server s.
func (l LeaseSecret) For(si []byte, s *Server) (gbs.LeaseSecrets, error) {
	return l.Derive(si, s.LeaseSeed())
}

func chain(secret []byte, clientTag, fileTag, bucketTag string, si, seed []byte) []byte {
	client := hashtree.TaggedHash(string(secret), []byte(clientTag))
	file := hashtree.TaggedPairHash(fileTag, client[:], si)
	bucket := hashtree.TaggedPairHash(bucketTag, file[:], seed)
	return bucket[:]
}

// Permuted returns servers in the order a client uses them for storage
// index si: Tahoe's permuted ring (placement.Order), except that servers
// currently put aside for failing come after all the others, keeping their
// relative order. Uploads fill and downloads search from the front.
func Permuted(servers []*Server, si []byte) []*Server {
	seeds := make([][]byte, len(servers))
	for i, s := range servers {
		seeds[i] = s.PermutationSeed()
	}
	out := make([]*Server, 0, len(servers))
	for _, i := range placement.Order(si, seeds, nil) {
		out = append(out, servers[i])
	}
	usable := make(map[*Server]bool, len(out))
	for _, s := range out {
		usable[s] = s.Usable()
	}
	slices.SortStableFunc(out, func(a, b *Server) int {
		switch {
		case usable[a] == usable[b]:
			return 0
		case usable[a]:
			return -1
		}
		return 1
	})
	return out
}
