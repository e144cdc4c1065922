package bufnet

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
)

func TestConnReadsEverything(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	want := make([]byte, 3<<20)
	rand.Read(want)
	go func() {
		c, err := Listener(ln, 64<<10).Accept()
		if err != nil {
			return
		}
		defer c.Close()
		got, _ := io.ReadAll(c)
		c.Write(got) // echo back what arrived, after the client closed its side
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := Conn(raw, 64<<10)
	defer c.Close()
	c.Write(want)
	raw.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("echo through buffered connections: %d bytes, %v", len(got), err)
	}
}
