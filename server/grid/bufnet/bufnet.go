// Package bufnet puts a large read buffer under TLS connections. Go's TLS
// reads the network about one 16 KiB record per read(2); with a buffer below
// it, one system call takes in everything the socket holds (up to the
// buffer's size) and the records are then decrypted from memory. Moving a
// gibibyte of shares then takes a fraction of the system calls.
package bufnet

import (
	"bufio"
	"net"
)

// ReadBuffer is the buffer size the grid uses.
const ReadBuffer = 256 << 10

type conn struct {
	net.Conn
	r *bufio.Reader
}

func (c *conn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Conn returns c with a read buffer of size bytes.
func Conn(c net.Conn, size int) net.Conn {
	return &conn{Conn: c, r: bufio.NewReaderSize(c, size)}
}

type listener struct {
	net.Listener
	size int
}

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Conn(c, l.size), nil
}

// Listener returns l whose accepted connections have a read buffer of size
// bytes. Wrap it before tls.NewListener, so the buffer sits under TLS.
func Listener(l net.Listener, size int) net.Listener { return listener{l, size} }
