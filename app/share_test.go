package app

import (
	"testing"
	"time"

	"github.com/communitycube/cube/shared/api"
)

func TestParseExpiry(t *testing.T) {
	if e, err := parseExpiry(" "); e != nil || err != nil {
		t.Fatalf("empty: %v %v", e, err)
	}
	day := time.Now().AddDate(0, 0, 3)
	e, err := parseExpiry(day.Format("2006-01-02"))
	if err != nil || e == nil {
		t.Fatalf("%v %v", e, err)
	}
	// The link works until the end of that day, local time.
	if e.Format("2006-01-02 15:04:05") != day.Format("2006-01-02")+" 23:59:59" {
		t.Fatalf("expiry %v", e)
	}
	if _, err := parseExpiry(time.Now().AddDate(0, 0, -1).Format("2006-01-02")); err == nil {
		t.Fatal("a past date was taken")
	}
	if _, err := parseExpiry("tomorrow"); err == nil {
		t.Fatal("not a date was taken")
	}
}

func TestParseLimits(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "1": 1_000_000, "0.5": 500_000, "1000": 1_000_000_000} {
		if got, err := parseMB(in); err != nil || got != want {
			t.Errorf("parseMB(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "x", "1e12", "Inf", "NaN"} {
		if _, err := parseMB(in); err == nil {
			t.Errorf("parseMB(%q) took it", in)
		}
	}
	if n, err := parseLimit(" 5 "); n != 5 || err != nil {
		t.Errorf("parseLimit: %d %v", n, err)
	}
	if _, err := parseLimit("2.5"); err == nil {
		t.Error("parseLimit took 2.5")
	}
}

func TestDropLimits(t *testing.T) {
	l := &api.DropLimits{MaxFiles: 3, MaxFile: 1_000_000, MaxTotal: 10_000_000}
	got := dropLimits(l, &api.DropUsage{Files: 1, Bytes: 2_000_000})
	want := "This link takes 2 more file(s), at most 1.0 MB per file, 8.0 MB in all."
	if got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if dropLimits(&api.DropLimits{}, nil) != "" || dropLimits(nil, nil) != "" {
		t.Fatal("no limits should say nothing")
	}
}

func TestSharePath(t *testing.T) {
	if !IsSharePath("/s/abcdefghijklmnopqrstuvwxyz") || IsSharePath("/s/abcdefghijklmnopqrstuvwxy0") || IsSharePath("/s/") {
		t.Fatal("share path pattern")
	}
}
