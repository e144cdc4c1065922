package smtpsink

import (
	"net/smtp"
	"testing"
)

func TestSinkRecords(t *testing.T) {
	var got []Message
	s, err := Start("127.0.0.1:0", func(m Message) { got = append(got, m) })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := "Subject: hi\r\n\r\nline one\r\n.starts with a dot\r\n"
	if err := smtp.SendMail(s.Addr(), nil, "a@example.org", []string{"b@example.org", "c@example.org"}, []byte(body)); err != nil {
		t.Fatal(err)
	}
	ms := s.Messages()
	if len(ms) != 1 || len(got) != 1 {
		t.Fatalf("%d messages", len(ms))
	}
	m := ms[0]
	if m.From != "a@example.org" || len(m.To) != 2 || m.To[1] != "c@example.org" {
		t.Fatalf("envelope %+v", m)
	}
	if string(m.Data) != body {
		t.Fatalf("data %q", m.Data)
	}
}
