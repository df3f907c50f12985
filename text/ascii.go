package text

// foldASCII is the folded view of a text that is entirely ASCII, the common
// case, in one pass without the per-rune units of the general path. It
// applies the same rules as the general path: FuzzASCIIPath checks that
// both agree on every ASCII input.
func foldASCII(s string, buf *Buffer) {
	n := len(s)
	out, st, en := buf.folded[:0], buf.fstart[:0], buf.fend[:0]
	if cap(out) < n {
		out, st, en = make([]byte, 0, n), make([]int32, 0, n), make([]int32, 0, n)
	}
	lastLetter := false
	put := func(b byte, i int, letter bool) {
		if letter && lastLetter && out[len(out)-1] == b {
			en[len(en)-1] = int32(i + 1)
			return
		}
		out = append(out, b)
		st, en = append(st, int32(i)), append(en, int32(i+1))
		lastLetter = letter
	}
	for i := 0; i < n; {
		c := s[i]
		switch asciiClass[c] {
		case classSpace:
			if len(out) > 0 && out[len(out)-1] != ' ' {
				out = append(out, ' ')
				st, en = append(st, int32(i)), append(en, int32(i+1))
			}
			lastLetter = false
			i++
		case classOther:
			put(c, i, false)
			i++
		default:
			j := i
			letters := 0
			for j < n && (asciiClass[s[j]] == classLetter || asciiClass[s[j]] == classDigit) {
				if asciiClass[s[j]] == classLetter {
					letters++
				}
				j++
			}
			if j == i+1 && letters == 1 && (i == 0 || !isWordByte(s[i-1])) {
				if end, ok := spreadASCII(s, i); ok {
					for k := i; k < end; k++ {
						if asciiClass[s[k]] == classLetter {
							put(asciiFold[s[k]][0], k, true)
						}
					}
					i = end
					continue
				}
			}
			for k := i; k < j; {
				if asciiClass[s[k]] == classLetter {
					put(asciiFold[s[k]][0], k, true)
					k++
					continue
				}
				run := k
				for run < j && asciiClass[s[run]] == classDigit {
					run++
				}
				for m := k; m < run; m++ {
					if l := leet[s[m]-'0']; letters >= 2 && run-k <= 2 && l != "" {
						put(l[0], m, true)
					} else {
						put(s[m], m, false)
					}
				}
				k = run
			}
			i = j
		}
	}
	buf.folded, buf.fstart, buf.fend = out, st, en
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
		for k < len(s) && k-j < 3 && (asciiClass[s[k]] == classSpace || asciiClass[s[k]] == classOther) {
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
