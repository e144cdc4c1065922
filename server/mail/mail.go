// Package mail sends the node's mail (share links, a test mail) through
// the SMTP server an administrator configured, and keeps those settings
// and the per-user sending counts in the node's database.
//
// The SMTP password is stored in the database in clear, as any mail
// client's configuration is: the node must present it to the server.
// Whoever can read the node's database can read it; use an account made
// for the node, allowed to send only.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TLS modes of Settings.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no encryption: a relay on the same machine, or a test sink
)

// Settings say how to reach the SMTP server.
type Settings struct {
	Host     string
	Port     int
	TLS      string
	Username string
	Password string
	From     string // the envelope and header sender: an address the server lets the node use
}

// InvalidError is a setting or an address that cannot be used; Field
// names it. Its message is shown to the user.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Message }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// hasControl reports characters no header field or SMTP command may hold
// (CR and LF above all: they would start a new header or command).
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// CheckAddress returns the address s, which must be one plain address
// ("name@example.org", no display name, no line breaks).
func CheckAddress(field, s string) (string, error) {
	if hasControl(s) {
		return "", invalid(field, "An e-mail address cannot contain line breaks or control characters.")
	}
	if len(s) > 254 {
		return "", invalid(field, "The e-mail address is too long.")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(s) || !strings.Contains(a.Address, "@") {
		return "", invalid(field, "%q is not an e-mail address like name@example.org.", s)
	}
	return a.Address, nil
}

// Validate checks the settings.
func (s *Settings) Validate() error {
	if s.Host == "" || hasControl(s.Host) || strings.ContainsAny(s.Host, " /@") || len(s.Host) > 253 {
		return invalid("host", "host must be the SMTP server's name or address.")
	}
	if s.Port < 1 || s.Port > 65535 {
		return invalid("port", "port must be 1 to 65535 (usually 587 with STARTTLS, 465 with TLS).")
	}
	switch s.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return invalid("tls", "tls must be %q, %q or %q.", TLSStartTLS, TLSImplicit, TLSNone)
	}
	if hasControl(s.Username) || hasControl(s.Password) || len(s.Username) > 256 || len(s.Password) > 1024 {
		return invalid("username", "The user name and password cannot contain line breaks or control characters.")
	}
	if s.Password != "" && s.Username == "" {
		return invalid("username", "A password needs a user name.")
	}
	if _, err := CheckAddress("from", s.From); err != nil {
		return err
	}
	return nil
}

// Message is one mail: plain text in UTF-8.
type Message struct {
	From     string // an address (Settings.From)
	FromName string // optional display name
	To       []string
	Subject  string
	Body     string
	Date     time.Time
}

// Bytes builds the message: the header fields From, To, Subject, Date,
// Message-ID and MIME, and the body in quoted-printable. Anything that
// could break a header line is refused.
func (m *Message) Bytes() ([]byte, error) {
	from, err := CheckAddress("from", m.From)
	if err != nil {
		return nil, err
	}
	if len(m.To) == 0 {
		return nil, invalid("to", "A mail needs at least one recipient.")
	}
	to := make([]string, len(m.To))
	for i, a := range m.To {
		if to[i], err = CheckAddress("to", a); err != nil {
			return nil, err
		}
	}
	if hasControl(m.Subject) || hasControl(m.FromName) {
		return nil, invalid("subject", "The subject and sender name cannot contain line breaks or control characters.")
	}
	if !utf8.ValidString(m.Subject) || !utf8.ValidString(m.Body) || !utf8.ValidString(m.FromName) {
		return nil, invalid("message", "The message is not valid UTF-8 text.")
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	var b bytes.Buffer
	sender := (&mail.Address{Name: m.FromName, Address: from}).String()
	fmt.Fprintf(&b, "From: %s\r\n", sender)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", randomID(), domainOf(from))
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\r", "\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}

// ErrSend wraps what went wrong talking to the SMTP server.
var ErrSend = errors.New("sending the mail failed")

// DialTimeout bounds connecting to the SMTP server; a whole send is
// bounded by SendTimeout (unless ctx ends earlier).
var (
	DialTimeout = 15 * time.Second
	SendTimeout = 60 * time.Second
)

// Send delivers m through the server st names, from st.From (it sets
// m.From).
func Send(ctx context.Context, st Settings, m *Message) error {
	if err := st.Validate(); err != nil {
		return err
	}
	m.From = st.From
	data, err := m.Bytes()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, SendTimeout)
	defer cancel()
	addr := net.JoinHostPort(st.Host, strconv.Itoa(st.Port))
	d := &net.Dialer{Timeout: DialTimeout}
	var conn net.Conn
	if st.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: st.Host}}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("%w: connecting to %s: %v", ErrSend, addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if err := converse(conn, st, m, data); err != nil {
		return fmt.Errorf("%w: %v", ErrSend, err)
	}
	return nil
}

func converse(conn net.Conn, st Settings, m *Message, data []byte) error {
	c, err := smtp.NewClient(conn, st.Host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(helloName(st.From)); err != nil {
		return err
	}
	if st.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("the server does not offer STARTTLS")
		}
		if err := c.StartTLS(&tls.Config{ServerName: st.Host}); err != nil {
			return err
		}
	}
	if st.Username != "" {
		// PlainAuth refuses to send the password over an unencrypted
		// connection to anything but localhost.
		if err := c.Auth(smtp.PlainAuth("", st.Username, st.Password, st.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(st.From); err != nil {
		return err
	}
	for _, to := range m.To {
		if err := c.Rcpt(to); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// helloName is the name the node gives in EHLO: the sender's domain (the
// node has no better-known name of its own).
func helloName(from string) string {
	d := domainOf(from)
	if d == "" || hasControl(d) || strings.ContainsAny(d, " []") {
		return "localhost"
	}
	return d
}
