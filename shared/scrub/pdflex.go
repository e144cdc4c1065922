package scrub

import (
	"errors"
	"strconv"
)

// A small PDF object parser: enough to read trailers, cross-reference streams and object
// dictionaries, and to know where each value starts and ends so it can be blanked in
// place.

// errMore means the parser ran off the end of its window: read a larger one.
var errMore = errors.New("pdf: need more input")

type pval struct {
	kind       byte // 'd' dict, 'a' array, 'r' ref, 'i' integer, 'f' real, '/' name, 's' string, 'k' keyword
	start, end int  // span in the window
	num, gen   int64
	str        string // name (decoded), keyword
	keys       []string
	vals       []pval // dict values (parallel to keys) or array items
}

func (v *pval) get(key string) (pval, bool) {
	if v.kind != 'd' {
		return pval{}, false
	}
	for i, k := range v.keys {
		if k == key {
			return v.vals[i], true
		}
	}
	return pval{}, false
}

func (v *pval) name(key string) string {
	if x, ok := v.get(key); ok && x.kind == '/' {
		return x.str
	}
	return ""
}

// refs appends every indirect reference inside v.
func (v *pval) refs(out []pval) []pval {
	if v.kind == 'r' {
		return append(out, *v)
	}
	for i := range v.vals {
		out = v.vals[i].refs(out)
	}
	return out
}

type lex struct {
	b     []byte
	i     int
	eof   bool // the window ends at the end of the file
	depth int
}

func isWS(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func (l *lex) more() error {
	if l.eof {
		return errSyntax
	}
	return errMore
}

var errSyntax = errors.New("pdf syntax")

// ws skips white space and comments.
func (l *lex) ws() {
	for l.i < len(l.b) {
		c := l.b[l.i]
		if isWS(c) {
			l.i++
		} else if c == '%' {
			for l.i < len(l.b) && l.b[l.i] != '\n' && l.b[l.i] != '\r' {
				l.i++
			}
		} else {
			return
		}
	}
}

// keyword reads a run of regular characters.
func (l *lex) token() (string, error) {
	l.ws()
	s := l.i
	for l.i < len(l.b) && !isWS(l.b[l.i]) && !isDelim(l.b[l.i]) {
		l.i++
	}
	if l.i == len(l.b) && !l.eof {
		return "", errMore
	}
	if l.i == s {
		return "", errSyntax
	}
	return string(l.b[s:l.i]), nil
}

func (l *lex) int() (int64, error) {
	t, err := l.token()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, errSyntax
	}
	return n, nil
}

func (l *lex) value() (pval, error) {
	l.ws()
	if l.i >= len(l.b) {
		return pval{}, l.more()
	}
	l.depth++
	defer func() { l.depth-- }()
	if l.depth > 64 {
		return pval{}, errSyntax
	}
	s := l.i
	switch c := l.b[l.i]; {
	case c == '<' && l.i+1 < len(l.b) && l.b[l.i+1] == '<':
		l.i += 2
		v := pval{kind: 'd', start: s}
		for {
			l.ws()
			if l.i+1 >= len(l.b) {
				return pval{}, l.more()
			}
			if l.b[l.i] == '>' && l.b[l.i+1] == '>' {
				l.i += 2
				v.end = l.i
				return v, nil
			}
			k, err := l.value()
			if err != nil {
				return pval{}, err
			}
			if k.kind != '/' {
				return pval{}, errSyntax
			}
			x, err := l.value()
			if err != nil {
				return pval{}, err
			}
			v.keys, v.vals = append(v.keys, k.str), append(v.vals, x)
			if len(v.keys) > 1<<16 {
				return pval{}, errSyntax
			}
		}
	case c == '<':
		for l.i++; l.i < len(l.b) && l.b[l.i] != '>'; l.i++ {
		}
		if l.i >= len(l.b) {
			return pval{}, l.more()
		}
		l.i++
		return pval{kind: 's', start: s, end: l.i}, nil
	case c == '[':
		l.i++
		v := pval{kind: 'a', start: s}
		for {
			l.ws()
			if l.i >= len(l.b) {
				return pval{}, l.more()
			}
			if l.b[l.i] == ']' {
				l.i++
				v.end = l.i
				return v, nil
			}
			x, err := l.value()
			if err != nil {
				return pval{}, err
			}
			v.vals = append(v.vals, x)
			if len(v.vals) > 1<<20 {
				return pval{}, errSyntax
			}
		}
	case c == '(':
		nest := 0
		for l.i < len(l.b) {
			switch l.b[l.i] {
			case '\\':
				l.i++
			case '(':
				nest++
			case ')':
				nest--
			}
			l.i++
			if nest == 0 {
				return pval{kind: 's', start: s, end: l.i}, nil
			}
		}
		return pval{}, l.more()
	case c == '/':
		l.i++
		for l.i < len(l.b) && !isWS(l.b[l.i]) && !isDelim(l.b[l.i]) {
			l.i++
		}
		if l.i == len(l.b) && !l.eof {
			return pval{}, errMore
		}
		return pval{kind: '/', start: s, end: l.i, str: decodeName(l.b[s+1 : l.i])}, nil
	case c == '+' || c == '-' || c == '.' || c >= '0' && c <= '9':
		t, err := l.token()
		if err != nil {
			return pval{}, err
		}
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			if _, err := strconv.ParseFloat(t, 64); err != nil {
				return pval{}, errSyntax
			}
			return pval{kind: 'f', start: s, end: l.i}, nil
		}
		v := pval{kind: 'i', start: s, end: l.i, num: n}
		// "N G R" is a reference: look ahead without consuming on a mismatch.
		save := l.i
		if g, err := l.int(); err == nil && n >= 0 && g >= 0 {
			if t, err := l.token(); err == nil && t == "R" {
				return pval{kind: 'r', start: s, end: l.i, num: n, gen: g}, nil
			} else if err == errMore {
				return pval{}, err
			}
		} else if err == errMore {
			return pval{}, err
		}
		l.i = save
		return v, nil
	case isDelim(c):
		return pval{}, errSyntax
	default:
		t, err := l.token()
		if err != nil {
			return pval{}, err
		}
		return pval{kind: 'k', start: s, end: l.i, str: t}, nil
	}
}

// decodeName undoes #xx escapes.
func decodeName(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '#' && i+2 < len(b) {
			if n, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8); err == nil {
				out = append(out, byte(n))
				i += 2
				continue
			}
		}
		out = append(out, b[i])
	}
	return string(out)
}
