package storage

import (
	"context"
	"errors"

	"github.com/communitycube/cube/server/grid/storage/container"
	"github.com/communitycube/cube/server/grid/storage/wire"
)

// Backend is where share containers live. It stores opaque, randomly
// addressable byte blobs named by (storage index, share number); it knows
// nothing about container formats, leases or HTTP, which all live in the
// server. The interface is kept small (in the spirit of restic's and
// perkeep's blob backends) so that other stores, such as S3, can be added
// without touching the server:
//
//   - New containers are always born "incoming": invisible to Open, List
//     and Walk until Commit publishes them atomically. Immutable uploads
//     stay incoming until the last byte arrives; new mutable shares are
//     written completely before the first Commit. An object store would
//     stage incoming containers locally and upload on Commit.
//   - A committed container can be re-opened and modified in place (mutable
//     writes, lease updates). Sync must make every preceding write durable;
//     the server calls it before acknowledging anything to a client. An
//     object store would upload the modified object in Sync.
//
// Implementations must be safe for concurrent use; the server never has two
// writers on the same container at once.
type Backend interface {
	// CreateIncoming creates a new, empty, unpublished container. It fails
	// with ErrExists if an incoming container with that name exists.
	CreateIncoming(si wire.StorageIndex, shnum uint16) (Incoming, error)
	// Open opens a committed container for reading and writing. It fails
	// with ErrNotFound if there is none.
	Open(si wire.StorageIndex, shnum uint16) (Container, error)
	// List returns the committed share numbers under si in ascending order
	// (empty, not an error, if there are none).
	List(si wire.StorageIndex) ([]uint16, error)
	// Delete removes a committed container. Deleting a missing container
	// returns ErrNotFound.
	Delete(si wire.StorageIndex, shnum uint16) error
	// Walk calls fn for every committed container, in no particular order.
	// It is only used for rare full scans (rebuilding the lease index).
	Walk(ctx context.Context, fn func(si wire.StorageIndex, shnum uint16) error) error
	// Available returns how many more bytes the backend can store, before
	// the server subtracts its reserved space.
	Available() (int64, error)
}

// Container is an open share container.
type Container interface {
	container.File // ReadAt, WriteAt, Size
	// Sync durably stores all writes made so far.
	Sync() error
	Close() error
}

// Incoming is a container that has not been published yet.
type Incoming interface {
	Container
	// Commit syncs the container and atomically publishes it under its
	// name. It fails with ErrExists, leaving nothing published, if a
	// committed container already has that name. The Incoming is closed
	// afterwards either way.
	Commit() error
	// Abort discards the container and closes it.
	Abort() error
}

// Backend errors.
var (
	ErrNotFound = errors.New("storage: share not found")
	ErrExists   = errors.New("storage: share already exists")
)
