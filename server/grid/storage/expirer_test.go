package storage_test

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/storage"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/server/grid/storage/wire"
)

const day = 24 * time.Hour

// countingBackend counts container opens, to show that an expiry pass only
// touches candidate shares.
type countingBackend struct {
	storage.Backend
	opens atomic.Int64
	walks atomic.Int64
}

func (c *countingBackend) Open(si wire.StorageIndex, shnum uint16) (storage.Container, error) {
	c.opens.Add(1)
	return c.Backend.Open(si, shnum)
}

func (c *countingBackend) Walk(ctx context.Context, fn func(wire.StorageIndex, uint16) error) error {
	c.walks.Add(1)
	return c.Backend.Walk(ctx, fn)
}

func TestLeaseExpiryAgeMode(t *testing.T) {
	var cb *countingBackend
	g := storagetest.NewGridWithOptions(t, 1, &storagetest.Options{WrapBackend: func(_ int, b storage.Backend) storage.Backend {
		cb = &countingBackend{Backend: b}
		return cb
	}})
	n := g.Nodes[0]
	c := n.Client
	ctx := context.Background()

	// 20 long-lived shares that will be renewed, and 2 that will not.
	var keep []wire.StorageIndex
	keepLease := leaseSecrets(t)
	for i := 0; i < 20; i++ {
		si := randSI(t)
		uploadShare(t, c, si, 0, []byte("keep"), keepLease)
		keep = append(keep, si)
	}
	doomedImm := randSI(t)
	uploadShare(t, c, doomedImm, 0, []byte("doomed"), leaseSecrets(t))
	doomedMut := randSI(t)
	sec := gbs.MutableSecrets{WriteEnabler: randBytes(t, 32), Lease: leaseSecrets(t)}
	if _, err := c.ReadTestWrite(ctx, doomedMut, sec, map[uint16]wire.TestWriteVectors{0: {Write: []wire.WriteVector{{Data: []byte("m")}}}}, nil); err != nil {
		t.Fatal(err)
	}

	exp, err := storage.NewLeaseExpirer(n.Server(), storage.ExpiryPolicy{Mode: storage.ExpiryAge})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing has expired yet, and a pass looks at nothing.
	g.Clock.Advance(20 * day)
	opens := cb.opens.Load()
	st, err := exp.RunOnce(ctx)
	if err != nil || st.Examined != 0 || st.Deleted != 0 || cb.opens.Load() != opens {
		t.Fatalf("early pass: %+v %v (%d opens)", st, err, cb.opens.Load()-opens)
	}
	for _, si := range keep {
		if err := c.AddOrRenewLease(ctx, si, keepLease); err != nil {
			t.Fatal(err)
		}
	}
	// Day 32: the unrenewed leases (31 days) have run out.
	g.Clock.Advance(12 * day)
	opens = cb.opens.Load()
	st, err = exp.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Examined != 2 || st.Deleted != 2 || st.BytesFreed == 0 {
		t.Fatalf("pass at day 32: %+v", st)
	}
	if got := cb.opens.Load() - opens; got != 2 {
		t.Fatalf("expiry pass opened %d containers, want 2 (the candidates only)", got)
	}
	if cb.walks.Load() != 1 { // the initial index build of an empty store
		t.Fatalf("%d full scans", cb.walks.Load())
	}
	if _, err := c.ReadImmutableShare(ctx, doomedImm, 0, 0, 1); !errors.Is(err, gbs.ErrNotFound) {
		t.Fatalf("expired immutable share still there: %v", err)
	}
	if shares, _ := c.ListMutableShares(ctx, doomedMut); len(shares) != 0 {
		t.Fatalf("expired mutable share still there: %v", shares)
	}
	for _, si := range keep {
		if _, err := c.ReadImmutableShare(ctx, si, 0, 0, 4); err != nil {
			t.Fatalf("renewed share deleted: %v", err)
		}
	}
	// The renewed shares go too, once their renewals lapse (day 51) - also
	// after a restart, which must not lose the index.
	n.Restart()
	exp, _ = storage.NewLeaseExpirer(n.Server(), storage.ExpiryPolicy{Mode: storage.ExpiryAge})
	g.Clock.Advance(20 * day)
	st, err = exp.RunOnce(ctx)
	if err != nil || st.Deleted != 20 {
		t.Fatalf("final pass: %+v %v", st, err)
	}
	if cb.walks.Load() != 0 { // cb is the new server's backend
		t.Fatal("restart rescanned the store")
	}
}

func TestLeaseExpiryPolicies(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	n := g.Nodes[0]
	c := n.Client
	ctx := context.Background()
	imm := randSI(t)
	uploadShare(t, c, imm, 0, []byte("imm"), leaseSecrets(t))
	mut := randSI(t)
	sec := gbs.MutableSecrets{WriteEnabler: randBytes(t, 32), Lease: leaseSecrets(t)}
	if _, err := c.ReadTestWrite(ctx, mut, sec, map[uint16]wire.TestWriteVectors{0: {Write: []wire.WriteVector{{Data: []byte("m")}}}}, nil); err != nil {
		t.Fatal(err)
	}
	run := func(p storage.ExpiryPolicy) storage.ExpiryStats {
		t.Helper()
		e, err := storage.NewLeaseExpirer(n.Server(), p)
		if err != nil {
			t.Fatal(err)
		}
		st, err := e.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	created := g.Clock.Now()
	g.Clock.Advance(10 * day)

	// Disabled never deletes.
	if st := run(storage.ExpiryPolicy{Mode: storage.ExpiryDisabled}); st.Deleted != 0 {
		t.Fatalf("disabled: %+v", st)
	}
	// Age with a 30-day override: not yet (10 days old).
	if st := run(storage.ExpiryPolicy{Mode: storage.ExpiryAge, OverrideLeaseDuration: 30 * day}); st.Deleted != 0 {
		t.Fatalf("override 30d at day 10: %+v", st)
	}
	// Cutoff before the leases were granted: nothing.
	if st := run(storage.ExpiryPolicy{Mode: storage.ExpiryCutoffDate, CutoffDate: created.Add(-time.Hour)}); st.Deleted != 0 {
		t.Fatalf("cutoff before grant: %+v", st)
	}
	// Age with a 5-day override, mutable shares exempt: the immutable goes.
	if st := run(storage.ExpiryPolicy{Mode: storage.ExpiryAge, OverrideLeaseDuration: 5 * day, SkipMutable: true}); st.Deleted != 1 {
		t.Fatalf("override 5d, skip mutable: %+v", st)
	}
	if _, err := c.ReadImmutableShare(ctx, imm, 0, 0, 1); !errors.Is(err, gbs.ErrNotFound) {
		t.Fatalf("immutable not expired: %v", err)
	}
	if got, err := c.ReadMutableShare(ctx, mut, 0, 0, 1); err != nil || string(got) != "m" {
		t.Fatalf("exempt mutable share touched: %v", err)
	}
	// Cutoff after the grant: the mutable share goes, even though its lease
	// would otherwise run for three more weeks.
	if st := run(storage.ExpiryPolicy{Mode: storage.ExpiryCutoffDate, CutoffDate: created.Add(time.Hour)}); st.Deleted != 1 {
		t.Fatalf("cutoff after grant: %+v", st)
	}
	if _, err := storage.NewLeaseExpirer(n.Server(), storage.ExpiryPolicy{Mode: storage.ExpiryCutoffDate}); err == nil {
		t.Fatal("cutoff mode without a date accepted")
	}
}

func TestIndexRebuildAndTahoeShares(t *testing.T) {
	g := storagetest.NewGrid(t, 1)
	n := g.Nodes[0]
	c := n.Client
	ctx := context.Background()

	// A share file in Tahoe's immutable v1 format (cleartext lease
	// secrets 32×0x01/32×0x02, lease expiring at 1700000000, data
	// "0123456789"), dropped into the store the way Tahoe lays it out.
	tahoe, _ := hex.DecodeString("000000010000000a000000013031323334353637383900000000" +
		"0101010101010101010101010101010101010101010101010101010101010101" +
		"0202020202020202020202020202020202020202020202020202020202020202" + "6553f100")
	si := randSI(t)
	dir := filepath.Join(n.StorageDir(), "shares", si.Prefix(), si.String())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "3"), tahoe, 0o600); err != nil {
		t.Fatal(err)
	}
	// Lose the index entirely; the restart rebuilds it from the shares.
	n.Server().Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(n.StorageDir(), "lease-index.sqlite"+suffix))
	}
	n.Restart()

	if got, err := c.ReadImmutableShare(ctx, si, 3, 2, 5); err != nil || string(got) != "23456" {
		t.Fatalf("Tahoe share: %q %v", got, err)
	}
	// Renewing with the original (cleartext-stored) secret works.
	renew := make([]byte, 32)
	cancel := make([]byte, 32)
	for i := range renew {
		renew[i], cancel[i] = 1, 2
	}
	// Its lease (Nov 2023) is long expired: an age-mode pass finds it via
	// the rebuilt index...
	exp, _ := storage.NewLeaseExpirer(n.Server(), storage.ExpiryPolicy{Mode: storage.ExpiryAge})
	if err := c.AddOrRenewLease(ctx, si, gbs.LeaseSecrets{Renew: renew, Cancel: cancel}); err != nil {
		t.Fatal(err)
	}
	// ...but the renewal just made keeps it.
	if st, err := exp.RunOnce(ctx); err != nil || st.Deleted != 0 {
		t.Fatalf("renewed Tahoe share: %+v %v", st, err)
	}
	g.Clock.Advance(32 * day)
	if st, err := exp.RunOnce(ctx); err != nil || st.Deleted != 1 {
		t.Fatalf("expired Tahoe share: %+v %v", st, err)
	}
}

func TestUploadTimeout(t *testing.T) {
	var fake *fakeSpace
	g := storagetest.NewGridWithOptions(t, 1, &storagetest.Options{WrapBackend: func(_ int, b storage.Backend) storage.Backend {
		fake = &fakeSpace{Backend: b, avail: 1000}
		return fake
	}})
	n := g.Nodes[0]
	c := n.Client
	ctx := context.Background()
	si := randSI(t)
	up := randBytes(t, 32)
	if res, err := c.Allocate(ctx, si, []uint16{0}, 800, leaseSecrets(t), up); err != nil || len(res.Allocated) != 1 {
		t.Fatalf("allocate: %+v %v", res, err)
	}
	if _, err := c.WriteShareChunk(ctx, si, 0, up, 0, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	// The idle upload holds 700 unwritten bytes.
	if res, _ := c.Allocate(ctx, randSI(t), []uint16{0}, 800, leaseSecrets(t), up); len(res.Allocated) != 0 {
		t.Fatal("space of pending upload not reserved")
	}
	g.Clock.Advance(storage.DefaultUploadTimeout + time.Minute)
	exp, _ := storage.NewLeaseExpirer(n.Server(), storage.ExpiryPolicy{})
	if _, err := exp.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteShareChunk(ctx, si, 0, up, 100, make([]byte, 100)); !errors.Is(err, gbs.ErrNotFound) {
		t.Fatalf("write to timed-out upload: %v", err)
	}
	if res, _ := c.Allocate(ctx, randSI(t), []uint16{0}, 800, leaseSecrets(t), up); len(res.Allocated) != 1 {
		t.Fatal("space of timed-out upload not released")
	}
}
