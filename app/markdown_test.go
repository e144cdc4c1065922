package app

import (
	"strings"
	"testing"
)

// mdString renders a tree as HTML-ish text for comparisons.
func mdString(ns []*mdNode) string {
	var b strings.Builder
	var walk func(n *mdNode)
	walk = func(n *mdNode) {
		if n.Tag == "" {
			b.WriteString(n.Text)
			return
		}
		b.WriteString("<" + n.Tag)
		if n.Href != "" {
			b.WriteString(" href=" + n.Href)
		}
		b.WriteString(">")
		for _, k := range n.Kids {
			walk(k)
		}
		b.WriteString("</" + n.Tag + ">")
	}
	for _, n := range ns {
		walk(n)
	}
	return b.String()
}

func TestMarkdown(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"# Title\n\nSome *em* and **strong** text.", "<h1>Title</h1><p>Some <em>em</em> and <strong>strong</strong> text.</p>"},
		{"## Two ##", "<h2>Two</h2>"},
		{"- a\n- b\n\n1. x\n2. y", "<ul><li>a</li><li>b</li></ul><ol><li>x</li><li>y</li></ol>"},
		{"```go\nfmt.Println(\"<b>\")\n```", "<pre><code>fmt.Println(\"<b>\")</code></pre>"},
		{"use `a < b` here", "<p>use <code>a < b</code> here</p>"},
		{"[ok](https://example.org/x) [bad](javascript:alert(1)) [rel](/etc)", "<p><a href=https://example.org/x>ok</a> <span>bad</span>) <span>rel</span></p>"},
		{"[data](data:text/html,x)", "<p><span>data</span></p>"},
		{"<script>alert(1)</script>", "<p><script>alert(1)</script></p>"},
		{"> quoted\n> more", "<blockquote><p>quoted more</p></blockquote>"},
		{"snake_case_name", "<p>snake_case_name</p>"},
		{"![alt](https://x/y.png)", "<p>[image: alt]</p>"},
		{"---", "<hr></hr>"},
		{"\\*not em\\*", "<p>*not em*</p>"},
	} {
		if got := mdString(renderMarkdown(c.in)); got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestMarkdownLinksNeverUnsafe(t *testing.T) {
	for _, in := range []string{"[x](JaVaScRiPt:alert(1))", "[x]( javascript:alert(1))", "[x](vbscript:x)", "[x](//evil)", "[x](file:///etc/passwd)"} {
		for _, n := range renderMarkdown(in)[0].Kids {
			if n.Href != "" {
				t.Errorf("%q kept href %q", in, n.Href)
			}
		}
	}
}
