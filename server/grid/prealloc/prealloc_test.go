package prealloc

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKeepsLengthAndContent(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("hello"))
	if err := File(f, 1<<20); err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	if st.Size() != 5 {
		t.Fatalf("length %d after preallocating, want 5", st.Size())
	}
	b, _ := os.ReadFile(f.Name())
	if string(b) != "hello" {
		t.Fatalf("content %q", b)
	}
	if err := File(f, 0); err != nil {
		t.Fatal(err)
	}
}
