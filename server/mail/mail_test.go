package mail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/communitycube/cube/internal/smtpsink"
	"github.com/communitycube/cube/server/db"
)

func isInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

func TestCheckAddress(t *testing.T) {
	for _, ok := range []string{"ann@example.org", "a.b+c@sub.example.org"} {
		if a, err := CheckAddress("to", ok); err != nil || a != ok {
			t.Errorf("%q: %q %v", ok, a, err)
		}
	}
	for _, bad := range []string{"", "ann", "Ann <ann@example.org>", "ann@example.org\r\nBcc: eve@example.org",
		"ann@example.org\n", "ann@example.org, bob@example.org", "<ann@example.org>", strings.Repeat("a", 250) + "@example.org"} {
		if _, err := CheckAddress("to", bad); !isInvalid(err) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

func TestMessageRefusesHeaderInjection(t *testing.T) {
	base := Message{From: "node@example.org", To: []string{"ann@example.org"}, Subject: "hello", Body: "text"}
	for name, change := range map[string]func(m *Message){
		"subject":   func(m *Message) { m.Subject = "hi\r\nBcc: eve@example.org" },
		"subject2":  func(m *Message) { m.Subject = "hi\nX: y" },
		"from name": func(m *Message) { m.FromName = "ann\r\nBcc: eve@example.org" },
		"to":        func(m *Message) { m.To = []string{"ann@example.org\r\nBcc: eve@example.org"} },
		"no to":     func(m *Message) { m.To = nil },
		"from":      func(m *Message) { m.From = "x\r\n@example.org" },
	} {
		m := base
		change(&m)
		if _, err := m.Bytes(); !isInvalid(err) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMessageFormat(t *testing.T) {
	m := Message{From: "node@example.org", FromName: "Zoë (CommunityCube)", To: []string{"ann@example.org", "bob@example.org"},
		Subject: "Zoë shared a file with you", Body: "Grüße\nSubject: not a header\n.\nend", Date: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	b, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	if s, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); s != m.Subject {
		t.Errorf("subject %q", h.Get("Subject"))
	}
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil || from.Address != "node@example.org" || from.Name != m.FromName {
		t.Errorf("from %q %v", h.Get("From"), err)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 2 {
		t.Errorf("to %q", h.Get("To"))
	}
	if !strings.HasSuffix(h.Get("Message-Id"), "@example.org>") || h.Get("Date") == "" ||
		h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Errorf("header %v", h)
	}
	if h.Get("Bcc") != "" || len(h) != 8 {
		t.Errorf("unexpected header fields %v", h)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != m.Body+"\n" {
		t.Errorf("body %q", got)
	}
}

func TestSettingsValidate(t *testing.T) {
	ok := Settings{Host: "smtp.example.org", Port: 587, TLS: TLSStartTLS, Username: "u", Password: "p", From: "node@example.org"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(s *Settings){
		"host":                  func(s *Settings) { s.Host = "" },
		"host crlf":             func(s *Settings) { s.Host = "a\r\nb" },
		"port":                  func(s *Settings) { s.Port = 0 },
		"tls":                   func(s *Settings) { s.TLS = "ssl" },
		"from":                  func(s *Settings) { s.From = "nobody" },
		"user crlf":             func(s *Settings) { s.Username = "u\r\nRCPT TO:<x@y>" },
		"password without user": func(s *Settings) { s.Username = "" },
	} {
		s := ok
		change(&s)
		if err := s.Validate(); !isInvalid(err) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func sinkSettings(t *testing.T) (*smtpsink.Sink, Settings) {
	t.Helper()
	sink, err := smtpsink.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	host, port, _ := net.SplitHostPort(sink.Addr())
	p, _ := strconv.Atoi(port)
	return sink, Settings{Host: host, Port: p, TLS: TLSNone, From: "node@example.org"}
}

func TestSendToSink(t *testing.T) {
	sink, st := sinkSettings(t)
	m := &Message{To: []string{"ann@example.org"}, Subject: "s", Body: "the body\n"}
	if err := Send(context.Background(), st, m); err != nil {
		t.Fatal(err)
	}
	ms := sink.Messages()
	if len(ms) != 1 || ms[0].From != "node@example.org" || ms[0].To[0] != "ann@example.org" || !bytes.Contains(ms[0].Data, []byte("the body")) {
		t.Fatalf("%+v", ms)
	}
	// STARTTLS demanded of a server without it: refused, nothing sent.
	st.TLS = TLSStartTLS
	if err := Send(context.Background(), st, m); !errors.Is(err, ErrSend) {
		t.Fatalf("starttls: %v", err)
	}
	// A password over a plain connection to a non-local name is refused
	// by net/smtp; here the sink offers no AUTH at all.
	st.TLS, st.Username, st.Password = TLSNone, "u", "p"
	if err := Send(context.Background(), st, m); !errors.Is(err, ErrSend) {
		t.Fatalf("auth: %v", err)
	}
	if len(sink.Messages()) != 1 {
		t.Fatal("a refused send arrived")
	}
}

func newStore(t *testing.T) (*Store, *time.Time) {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "cube.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	if _, err := d.Exec(`INSERT INTO users(id, name, pw_hash, created_at, pw_changed_at) VALUES(1, 'ann', 'x', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	return &Store{DB: d, Now: func() time.Time { return now }}, &now
}

func TestStoreSettings(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if _, ok, err := s.Settings(ctx); ok || err != nil {
		t.Fatalf("none: %v %v", ok, err)
	}
	st := Settings{Host: "smtp.example.org", Port: 587, TLS: TLSStartTLS, Username: "u", Password: "secret", From: "node@example.org"}
	if _, err := s.PutSettings(ctx, st, false); err != nil {
		t.Fatal(err)
	}
	st.Password, st.Port = "", 465
	if _, err := s.PutSettings(ctx, st, false); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Settings(ctx)
	if err != nil || !ok || got.Password != "secret" || got.Port != 465 {
		t.Fatalf("kept password: %+v %v", got, err)
	}
	st.Username = ""
	if _, err := s.PutSettings(ctx, st, true); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Settings(ctx); got.Password != "" {
		t.Fatal("password not cleared")
	}
	if _, err := s.PutSettings(ctx, Settings{Host: "x", Port: 25, TLS: "bad", From: "a@b.c"}, false); !isInvalid(err) {
		t.Fatalf("invalid settings: %v", err)
	}
	if _, err := s.PutSettings(ctx, Settings{}, false); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Settings(ctx); ok {
		t.Fatal("settings not removed")
	}
}

func TestStoreRateLimit(t *testing.T) {
	s, now := newStore(t)
	s.PerHour = 5
	ctx := context.Background()
	if err := s.Reserve(ctx, 1, 3); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(10 * time.Minute)
	if err := s.Reserve(ctx, 1, 2); err != nil {
		t.Fatal(err)
	}
	var re *RateError
	if err := s.Reserve(ctx, 1, 1); !errors.As(err, &re) || re.RetryAfter != 50*time.Minute {
		t.Fatalf("over the limit: %v", err)
	}
	*now = now.Add(50 * time.Minute)
	if err := s.Reserve(ctx, 1, 3); err != nil {
		t.Fatalf("after the hour: %v", err)
	}
	if err := s.Reserve(ctx, 1, 6); !errors.As(err, &re) {
		t.Fatalf("more than the limit at once: %v", err)
	}
}
