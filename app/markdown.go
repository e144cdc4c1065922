package app

// A small, safe Markdown renderer for previews. It knows headings,
// paragraphs, emphasis, inline and fenced code, block quotes, lists,
// horizontal rules and links, and produces a tree of elements and text:
// raw HTML in the source stays text, and a link keeps its href only for
// http, https and mailto (never javascript:, data: or anything else).
// Nothing in it fetches anything: images become their alt text.

import (
	"net/url"
	"strings"
)

// mdNode is an element (Tag set) or a text node (Tag "").
type mdNode struct {
	Tag  string
	Href string // <a>
	Text string // text nodes
	Kids []*mdNode
}

func mdText(s string) *mdNode { return &mdNode{Text: s} }

func mdEl(tag string, kids ...*mdNode) *mdNode { return &mdNode{Tag: tag, Kids: kids} }

// renderMarkdown parses src into block elements.
func renderMarkdown(src string) []*mdNode {
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	return mdBlocks(lines)
}

func mdBlocks(lines []string) []*mdNode {
	var out []*mdNode
	var para []string
	flush := func() {
		if len(para) > 0 {
			out = append(out, mdEl("p", mdInline(strings.Join(para, "\n"))...))
			para = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			flush()
		case strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~"):
			flush()
			fence := t[:3]
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), fence); i++ {
				code = append(code, lines[i])
			}
			out = append(out, mdEl("pre", mdEl("code", mdText(strings.Join(code, "\n")))))
		case mdHeading(t) > 0:
			flush()
			n := mdHeading(t)
			text := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(t[n:]), "#"))
			out = append(out, mdEl("h"+string(rune('0'+n)), mdInline(text)...))
		case mdRule(t):
			flush()
			out = append(out, mdEl("hr"))
		case strings.HasPrefix(t, ">"):
			flush()
			var quote []string
			for ; i < len(lines); i++ {
				q := strings.TrimSpace(lines[i])
				if !strings.HasPrefix(q, ">") {
					break
				}
				quote = append(quote, strings.TrimPrefix(strings.TrimPrefix(q, ">"), " "))
			}
			i--
			out = append(out, mdEl("blockquote", mdBlocks(quote)...))
		case mdItem(t) != "":
			flush()
			tag := mdItem(t)
			list := mdEl(tag)
			for ; i < len(lines); i++ {
				l := strings.TrimSpace(lines[i])
				if l == "" {
					break
				}
				if mdItem(l) == tag {
					list.Kids = append(list.Kids, mdEl("li", mdInline(mdItemText(l))...))
					continue
				}
				if mdItem(l) != "" || len(list.Kids) == 0 {
					break
				}
				// A continuation line of the last item.
				last := list.Kids[len(list.Kids)-1]
				last.Kids = append(last.Kids, mdText(" "))
				last.Kids = append(last.Kids, mdInline(l)...)
			}
			i--
			out = append(out, list)
		case strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t"):
			if len(para) > 0 {
				para = append(para, t)
				continue
			}
			var code []string
			for ; i < len(lines) && (strings.HasPrefix(lines[i], "    ") || strings.HasPrefix(lines[i], "\t") || strings.TrimSpace(lines[i]) == ""); i++ {
				l := lines[i]
				if strings.HasPrefix(l, "\t") {
					l = l[1:]
				} else if len(l) >= 4 {
					l = l[4:]
				}
				code = append(code, l)
			}
			i--
			for len(code) > 0 && strings.TrimSpace(code[len(code)-1]) == "" {
				code = code[:len(code)-1]
			}
			out = append(out, mdEl("pre", mdEl("code", mdText(strings.Join(code, "\n")))))
		default:
			para = append(para, t)
		}
	}
	flush()
	return out
}

// mdHeading returns the level of an ATX heading line, or 0.
func mdHeading(t string) int {
	n := 0
	for n < len(t) && t[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || (n < len(t) && t[n] != ' ') {
		return 0
	}
	return n
}

func mdRule(t string) bool {
	s := strings.ReplaceAll(t, " ", "")
	if len(s) < 3 {
		return false
	}
	for _, c := range []string{"-", "*", "_"} {
		if strings.Trim(s, c) == "" {
			return true
		}
	}
	return false
}

// mdItem returns "ul" or "ol" for a list item line, else "".
func mdItem(t string) string {
	if len(t) >= 2 && (t[0] == '-' || t[0] == '*' || t[0] == '+') && t[1] == ' ' {
		return "ul"
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i > 0 && i < 10 && i+1 < len(t) && (t[i] == '.' || t[i] == ')') && t[i+1] == ' ' {
		return "ol"
	}
	return ""
}

func mdItemText(t string) string {
	if mdItem(t) == "ul" {
		return strings.TrimSpace(t[2:])
	}
	i := strings.IndexAny(t, ".)")
	return strings.TrimSpace(t[i+1:])
}

// mdInline parses emphasis, code spans, links and escapes.
func mdInline(s string) []*mdNode {
	var out []*mdNode
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, mdText(text.String()))
			text.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && strings.IndexByte("\\`*_{}[]()#+-.!<>|~", s[i+1]) >= 0:
			text.WriteByte(s[i+1])
			i += 2
			continue
		case c == '`':
			n := 1
			for i+n < len(s) && s[i+n] == '`' {
				n++
			}
			fence := s[i : i+n]
			if j := strings.Index(s[i+n:], fence); j >= 0 {
				flush()
				out = append(out, mdEl("code", mdText(strings.TrimSpace(s[i+n:i+n+j]))))
				i += n + j + n
				continue
			}
		case c == '*' || c == '_':
			if i+1 < len(s) && s[i+1] == c {
				d := s[i : i+2]
				if j := strings.Index(s[i+2:], d); j > 0 {
					flush()
					out = append(out, mdEl("strong", mdInline(s[i+2:i+2+j])...))
					i += 2 + j + 2
					continue
				}
			} else if j := strings.IndexByte(s[i+1:], c); j > 0 && s[i+1] != ' ' {
				// _ inside words (snake_case) is not emphasis.
				if c != '_' || i == 0 || !mdWordByte(s[i-1]) {
					flush()
					out = append(out, mdEl("em", mdInline(s[i+1:i+1+j])...))
					i += 1 + j + 1
					continue
				}
			}
		case c == '!' && i+1 < len(s) && s[i+1] == '[':
			if label, _, n, ok := mdLink(s[i+1:]); ok {
				flush()
				// Images are not loaded: a preview fetches nothing.
				text.WriteString("[image: " + label + "]")
				i += 1 + n
				continue
			}
		case c == '[':
			if label, href, n, ok := mdLink(s[i:]); ok {
				flush()
				a := mdEl("a", mdInline(label)...)
				if safe := mdSafeHref(href); safe != "" {
					a.Href = safe
				} else {
					a = mdEl("span", mdInline(label)...)
				}
				out = append(out, a)
				i += n
				continue
			}
		case c == '\n':
			flush()
			out = append(out, mdEl("br"))
			i++
			continue
		}
		text.WriteByte(c)
		i++
	}
	flush()
	// Line breaks inside a paragraph are spaces, as in Markdown.
	for k, n := range out {
		if n.Tag == "br" {
			out[k] = mdText(" ")
		}
	}
	return out
}

func mdWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// mdLink parses "[label](href)" at the start of s.
func mdLink(s string) (label, href string, n int, ok bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				if i+1 < len(s) && s[i+1] == '(' {
					if j := strings.IndexByte(s[i+2:], ')'); j >= 0 {
						href = strings.TrimSpace(s[i+2 : i+2+j])
						if k := strings.IndexAny(href, " \t"); k >= 0 {
							href = href[:k] // drop a "title"
						}
						return s[1:i], strings.Trim(href, "<>"), i + 2 + j + 1, true
					}
				}
				return "", "", 0, false
			}
		case '\n':
			return "", "", 0, false
		}
	}
	return "", "", 0, false
}

// mdSafeHref returns href if it is an absolute http(s) or mailto URL.
func mdSafeHref(href string) string {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return ""
		}
		return u.String()
	case "mailto":
		return u.String()
	}
	return ""
}
