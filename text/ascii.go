package text

import (
	"unicode/utf8"
	"unsafe"
)

// foldASCII is the folded view of a text that is entirely ASCII, the common
// case, in one pass without the per-rune units of the general path. It
// applies the same rules as the general path: FuzzASCIIPath checks that
// both agree on every ASCII input.
func foldASCII(s string, buf *Buffer) {
	n := len(s)
	if cap(buf.folded) < n {
		buf.folded, buf.fstart, buf.fend = make([]byte, n), make([]int32, n), make([]int32, n)
	}
	// Folding ASCII never lengthens the text: write by index.
	out, st, en := buf.folded[:n], buf.fstart[:n], buf.fend[:n]
	w := 0
	lastLetter := false
	for i := 0; i < n; {
		c := s[i]
		switch asciiClass[c] {
		case classSpace:
			if w > 0 && out[w-1] != ' ' {
				out[w], st[w], en[w] = ' ', int32(i), int32(i+1)
				w++
			}
			lastLetter = false
			i++
			continue
		case classOther:
			if leetLetter[c] != 0 && (i > 0 && isWordByte(s[i-1]) || i+1 < n && isWordByte(s[i+1])) {
				buf.maybeLeet = true
			}
			out[w], st[w], en[w] = c, int32(i), int32(i+1)
			w++
			lastLetter = false
			i++
			continue
		}
		j := i
		letters := 0
		for j < n && (asciiClass[s[j]] == classLetter || asciiClass[s[j]] == classDigit) {
			if asciiClass[s[j]] == classLetter {
				letters++
			}
			j++
		}
		if letters > 0 && letters < j-i {
			buf.maybeLeet = true
		}
		spread := j
		if j == i+1 && letters == 1 && (i == 0 || !isWordByte(s[i-1])) {
			if end, ok := spreadASCII(s, i); ok {
				spread = end
			}
		}
		for k := i; k < spread; {
			c := s[k]
			switch asciiClass[c] {
			case classLetter:
				c |= 0x20 // lower case
				if lastLetter && out[w-1] == c {
					en[w-1] = int32(k + 1) // a repeated letter
				} else {
					out[w], st[w], en[w] = c, int32(k), int32(k+1)
					w++
				}
				lastLetter = true
				k++
			case classDigit:
				run := k
				for run < j && asciiClass[s[run]] == classDigit {
					run++
				}
				for m := k; m < run; m++ {
					out[w], st[w], en[w] = s[m], int32(m), int32(m+1)
					w++
				}
				lastLetter = false
				k = run
			default: // the separators of a spread-out word
				k++
			}
		}
		i = spread
	}
	buf.folded, buf.fstart, buf.fend = out[:w], st[:w], en[:w]
}

func isWordByte(c byte) bool {
	cls := asciiClass[c]
	return cls == classLetter || cls == classDigit
}

// spreadASCII reports whether the single letter at i starts letters spread
// out with one and the same separator (i.v.o.r.y), and where the run ends.
func spreadASCII(s string, i int) (end int, ok bool) {
	letters, sep := 1, ""
	j := i + 1
	for {
		k := j
		for k < len(s) && k-j < 3 && (asciiClass[s[k]] == classSpace || asciiClass[s[k]] == classOther && leetLetter[s[k]] == 0) {
			k++
		}
		if k == j || k >= len(s) || asciiClass[s[k]] != classLetter || (k+1 < len(s) && isWordByte(s[k+1])) {
			break
		}
		this := foldSep(s[j:k])
		if sep == "" {
			sep = this
		} else if this != sep {
			break
		}
		letters++
		j = k + 1
	}
	return j, sep != "" && letters >= minSpread(sep)
}

// foldSep is the folded form of a separator run: control characters are
// white space.
func foldSep(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7F {
			b := []byte(s)
			for k := range b {
				b[k] = asciiFold[b[k]][0]
			}
			return string(b)
		}
	}
	return s
}

// foldLatin is the fast path for Latin-script text with diacritics
// (Spanish, German, Vietnamese): when every non-ASCII rune is a letter
// that folds to one ASCII letter, the text is transliterated and folded by
// foldASCII, and the offsets mapped back. It reports false, having done
// nothing, for any other text. FuzzLatinPath holds it to the general path.
func (n *Normalizer) foldLatin(s string, buf *Buffer) bool {
	t, starts, ends := buf.latin[:0], buf.latinStart[:0], buf.latinEnd[:0]
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			t, starts, ends = append(t, c), append(starts, int32(i)), append(ends, int32(i+1))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		l, ok := n.table.latin[r]
		if !ok {
			return false
		}
		t, starts, ends = append(t, l), append(starts, int32(i)), append(ends, int32(i+size))
		i += size
	}
	buf.latin, buf.latinStart, buf.latinEnd = t, starts, ends
	foldASCII(unsafe.String(unsafe.SliceData(t), len(t)), buf)
	for k := range buf.folded {
		buf.fstart[k], buf.fend[k] = starts[buf.fstart[k]], ends[buf.fend[k]-1]
	}
	return true
}
