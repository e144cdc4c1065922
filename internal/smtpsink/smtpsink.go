// Package smtpsink is a tiny SMTP server for tests: it accepts every mail
// (no TLS, no authentication) and records it. A message is recorded before
// the server acknowledges its DATA, so once a client's send returns the
// message is there.
package smtpsink

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
)

// Message is one received mail.
type Message struct {
	From string
	To   []string
	Data []byte // as sent, with CRLF line ends and dot-stuffing removed
}

// Sink is a running SMTP server.
type Sink struct {
	ln  net.Listener
	wg  sync.WaitGroup
	mu  sync.Mutex
	got []Message
	// onMessage is Start's callback.
	onMessage func(Message)
}

// MaxMessage bounds one message's data.
const MaxMessage = 10 << 20

// Start listens on addr ("127.0.0.1:0" for any free port) and serves until
// Close. onMessage, if not nil, is called with each message (before the
// client is told it was accepted).
func Start(addr string, onMessage func(Message)) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln, onMessage: onMessage}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is the address the sink listens on (host:port).
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Messages returns the messages received so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.got...)
}

// Close stops listening and waits for open connections to end.
func (s *Sink) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *Sink) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.session(c)
		}()
	}
}

func (s *Sink) session(c net.Conn) {
	r := bufio.NewReader(io.LimitReader(c, MaxMessage+1<<20))
	w := bufio.NewWriter(c)
	reply := func(format string, args ...any) bool {
		fmt.Fprintf(w, format+"\r\n", args...)
		return w.Flush() == nil
	}
	if !reply("220 smtpsink ready") {
		return
	}
	var cur Message
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			fmt.Fprintf(w, "250-smtpsink\r\n250-8BITMIME\r\n")
			reply("250 SIZE %d", MaxMessage)
		case "HELO":
			reply("250 smtpsink")
		case "MAIL":
			cur = Message{From: addrArg(arg)}
			reply("250 OK")
		case "RCPT":
			cur.To = append(cur.To, addrArg(arg))
			reply("250 OK")
		case "DATA":
			if len(cur.To) == 0 {
				reply("503 RCPT first")
				continue
			}
			if !reply("354 end with <CRLF>.<CRLF>") {
				return
			}
			data, ok := readData(r)
			if !ok {
				reply("552 message too large or truncated")
				return
			}
			cur.Data = data
			s.mu.Lock()
			s.got = append(s.got, cur)
			s.mu.Unlock()
			if s.onMessage != nil {
				s.onMessage(cur)
			}
			cur = Message{}
			reply("250 OK queued")
		case "RSET":
			cur = Message{}
			reply("250 OK")
		case "NOOP":
			reply("250 OK")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 command not implemented")
		}
	}
}

// addrArg takes the address out of "FROM:<a@b> SIZE=1" or "TO:<a@b>".
func addrArg(arg string) string {
	_, a, _ := strings.Cut(arg, ":")
	a = strings.TrimSpace(a)
	if i := strings.IndexByte(a, '>'); strings.HasPrefix(a, "<") && i > 0 {
		return a[1:i]
	}
	a, _, _ = strings.Cut(a, " ")
	return a
}

func readData(r *bufio.Reader) ([]byte, bool) {
	var b bytes.Buffer
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, false
		}
		if line == ".\r\n" || line == ".\n" {
			return b.Bytes(), true
		}
		if strings.HasPrefix(line, ".") {
			line = line[1:]
		}
		b.WriteString(line)
		if b.Len() > MaxMessage {
			return nil, false
		}
	}
}
