package scrub

import "bytes"

// Byte-level XML rewriting for office documents' metadata parts: no parser and no
// re-serialisation, so everything not targeted stays byte for byte as the application
// wrote it (and the wasm bundle does not grow by encoding/xml).

// xmlSkeleton keeps the prolog and the root element of doc and drops the root's
// children; inner, if not empty, is put inside the root (ODF's meta.xml needs an
// <office:meta/>; inner's "%p" is replaced by the root's namespace prefix). It returns
// nil when doc has no recognisable root.
func xmlSkeleton(doc []byte, inner string) []byte {
	i := 0
	for {
		j := bytes.IndexByte(doc[i:], '<')
		if j < 0 {
			return nil
		}
		i += j
		switch {
		case bytes.HasPrefix(doc[i:], []byte("<?")):
			k := bytes.Index(doc[i:], []byte("?>"))
			if k < 0 {
				return nil
			}
			i += k + 2
			continue
		case bytes.HasPrefix(doc[i:], []byte("<!--")):
			k := bytes.Index(doc[i:], []byte("-->"))
			if k < 0 {
				return nil
			}
			i += k + 3
			continue
		case bytes.HasPrefix(doc[i:], []byte("<!")):
			k := bytes.IndexByte(doc[i:], '>')
			if k < 0 {
				return nil
			}
			i += k + 1
			continue
		}
		break
	}
	end := tagEnd(doc, i)
	if end < 0 {
		return nil
	}
	name := tagName(doc, i+1)
	if doc[end-2] == '/' { // <root/>: nothing inside
		return append([]byte(nil), doc[:end]...)
	}
	out := append([]byte(nil), doc[:end]...)
	if inner != "" {
		prefix := ""
		if k := bytes.IndexByte(name, ':'); k >= 0 {
			prefix = string(name[:k+1])
		}
		out = append(out, bytes.ReplaceAll([]byte(inner), []byte("%p"), []byte(prefix))...)
	}
	out = append(out, "</"...)
	out = append(out, name...)
	return append(out, '>')
}

// tagEnd returns the index just after the '>' of the tag starting at doc[i] == '<',
// skipping quoted attribute values, or -1.
func tagEnd(doc []byte, i int) int {
	var q byte
	for k := i + 1; k < len(doc); k++ {
		c := doc[k]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '>':
			return k + 1
		}
	}
	return -1
}

func isNameByte(c byte) bool {
	return c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '>' && c != '/' && c != '=' && c != '"' && c != '\''
}

func tagName(doc []byte, i int) []byte {
	k := i
	for k < len(doc) && isNameByte(doc[k]) {
		k++
	}
	return doc[i:k]
}

func localName(n []byte) string {
	if k := bytes.LastIndexByte(n, ':'); k >= 0 {
		n = n[k+1:]
	}
	return string(n)
}

// xmlRules say what to overwrite: attribute values by the attribute's local name (in any
// element, or only in the elements listed in attrIn), and element text by the element's
// local name.
type xmlRules struct {
	attrs  map[string]string
	attrIn map[string]bool // if not nil: elements (local names) whose attrs are rewritten
	elems  map[string]string
}

// rewrite applies the rules to doc, returning nil when nothing changed.
func (r *xmlRules) rewrite(doc []byte) []byte {
	var out []byte
	last := 0 // doc[last:] is not yet in out
	changed := false
	put := func(from, to int, with string) {
		if string(doc[from:to]) == with {
			return
		}
		out = append(out, doc[last:from]...)
		out = append(out, with...)
		last = to
		changed = true
	}
	for i := 0; i < len(doc); {
		j := bytes.IndexByte(doc[i:], '<')
		if j < 0 {
			break
		}
		i += j
		if bytes.HasPrefix(doc[i:], []byte("<!--")) {
			k := bytes.Index(doc[i:], []byte("-->"))
			if k < 0 {
				break
			}
			i += k + 3
			continue
		}
		if bytes.HasPrefix(doc[i:], []byte("<![CDATA[")) {
			k := bytes.Index(doc[i:], []byte("]]>"))
			if k < 0 {
				break
			}
			i += k + 3
			continue
		}
		if i+1 < len(doc) && (doc[i+1] == '/' || doc[i+1] == '?' || doc[i+1] == '!') {
			i++
			continue
		}
		end := tagEnd(doc, i)
		if end < 0 {
			break
		}
		name := tagName(doc, i+1)
		ln := localName(name)
		if r.attrIn == nil || r.attrIn[ln] {
			// Attributes: name = "value" or 'value'.
			k := i + 1 + len(name)
			for k < end {
				for k < end && !isNameByte(doc[k]) {
					k++
				}
				an := tagName(doc, k)
				if len(an) == 0 {
					break
				}
				k += len(an)
				for k < end && (doc[k] == ' ' || doc[k] == '\t' || doc[k] == '\n' || doc[k] == '\r' || doc[k] == '=') {
					k++
				}
				if k >= end || (doc[k] != '"' && doc[k] != '\'') {
					continue
				}
				q := doc[k]
				e := bytes.IndexByte(doc[k+1:end], q)
				if e < 0 {
					break
				}
				if v, ok := r.attrs[localName(an)]; ok {
					put(k+1, k+1+e, v)
				}
				k += e + 2
			}
		}
		i = end
		if v, ok := r.elems[ln]; ok && doc[end-2] != '/' {
			// The text up to the next tag; a nested element is left alone.
			k := bytes.IndexByte(doc[end:], '<')
			if k >= 0 && bytes.HasPrefix(doc[end+k:], append([]byte("</"), name...)) {
				put(end, end+k, v)
			}
		}
	}
	if !changed {
		return nil
	}
	return append(out, doc[last:]...)
}
