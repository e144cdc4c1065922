package db

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
)

func TestMigrateFreshAndIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cube.db")
	d, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var v int
	d.QueryRow("PRAGMA user_version").Scan(&v)
	if v != SchemaVersion() || v < 1 {
		t.Fatalf("user_version = %d, want %d", v, SchemaVersion())
	}
	if _, err := d.Exec(`INSERT INTO settings(key, value) VALUES('k', 'v')`); err != nil {
		t.Fatal(err)
	}
	var mode string
	d.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	d.Close()

	// Reopening runs no migration again and keeps the data.
	d, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var val string
	if err := d.QueryRow(`SELECT value FROM settings WHERE key = 'k'`).Scan(&val); err != nil || val != "v" {
		t.Fatalf("data lost across reopen: %q %v", val, err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cube.db")
	d, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Exec("PRAGMA user_version = 999")
	d.Close()
	_, err = Open(ctx, path, Options{})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open = %v, want ErrNewerSchema", err)
	}
}

func TestMigrationsAreConsecutive(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Fatalf("migration %s has number %d, want %d", m.name, m.version, i+1)
		}
	}
}

// A full disk shows up as SQLITE_FULL. max_page_count produces the very same
// error without filling a real disk.
func TestIsFull(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "cube.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.SetMaxOpenConns(1)
	var pages int
	d.QueryRow("PRAGMA page_count").Scan(&pages)
	if _, err := d.Exec("PRAGMA max_page_count = " + strconv.Itoa(pages)); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<10)
	_, err = d.Exec(`INSERT INTO settings(key, value) VALUES('big', ?)`, string(big))
	if err == nil || !IsFull(err) {
		t.Fatalf("insert into a full database: err = %v, IsFull = false", err)
	}
	if IsBusy(err) || IsUnique(err) {
		t.Fatal("a full-disk error classified as busy or unique")
	}
}

func TestIsBusy(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cube.db")
	holder, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.BeginTx(ctx, nil) // IMMEDIATE: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	other, err := Open(ctx, path, Options{BusyTimeoutMS: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.Exec(`INSERT INTO settings(key, value) VALUES('x', 'y')`)
	if !IsBusy(err) {
		t.Fatalf("write while another holds the lock: %v, want busy", err)
	}
	tx.Rollback()
	if _, err := other.Exec(`INSERT INTO settings(key, value) VALUES('x', 'y')`); err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
}

func TestIsUnique(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "cube.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Exec(`INSERT INTO settings(key, value) VALUES('a', '1')`)
	_, err = d.Exec(`INSERT INTO settings(key, value) VALUES('a', '2')`)
	if !IsUnique(err) {
		t.Fatalf("duplicate key: %v, want unique violation", err)
	}
}
