package text

// ViewLeet is the folded view with leetspeak read as letters everywhere in
// a word (54wfi5h, p@ws, m4rf!l). It is built only when the folded view has
// a word mixing letters with digits or symbols, and only its matches that
// the folded view lacks count.
const ViewLeet = "leet"

// leetLetter is the letter a digit or symbol stands for inside a word, or 0.
var leetLetter = func() (t [256]byte) {
	for c, l := range map[byte]byte{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g', '@': 'a', '!': 'i', '$': 's', '|': 'l'} {
		t[c] = l
	}
	return t
}()

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

func isLeetToken(c byte) bool { return isLower(c) || leetLetter[c] != 0 }

// leetView writes the leet views from the folded view, and reports how
// many it wrote: one reading 1 as i, and when a word holds a 1, a second
// reading it as l (73n9gi1!n9 is tenggiling, P1ump10ri Plumplori).
func leetView(buf *Buffer) int {
	if !buf.maybeLeet {
		return 0
	}
	out, st, en, ones := leetRead(buf, buf.leet[:0], buf.lstart[:0], buf.lend[:0], 'i')
	if out == nil {
		return 0
	}
	buf.leet, buf.lstart, buf.lend = out, st, en
	if !ones {
		return 1
	}
	buf.leetL, buf.lLstart, buf.lLend, _ = leetRead(buf, buf.leetL[:0], buf.lLstart[:0], buf.lLend[:0], 'l')
	return 2
}

// leetRead writes one leet reading of the folded view, with one for the
// letter 1 stands for, and reports whether a 1 was read; nil when no word
// mixes letters with digits or symbols.
func leetRead(buf *Buffer, out []byte, st, en []int32, one byte) ([]byte, []int32, []int32, bool) {
	f := buf.folded
	needed := false
	for i := 0; i < len(f) && !needed; {
		if !isLeetToken(f[i]) {
			i++
			continue
		}
		j, letters, leet := i, 0, 0
		for ; j < len(f) && isLeetToken(f[j]); j++ {
			if isLower(f[j]) {
				letters++
			} else {
				leet++
			}
		}
		needed = letters > 0 && leet > 0 && j-i >= 3
		i = j
	}
	if !needed {
		return nil, nil, nil, false
	}
	ones := false
	for i := 0; i < len(f); {
		if !isLeetToken(f[i]) {
			out, st, en = append(out, f[i]), append(st, buf.fstart[i]), append(en, buf.fend[i])
			i++
			continue
		}
		j, letters := i, 0
		for ; j < len(f) && isLeetToken(f[j]); j++ {
			if isLower(f[j]) {
				letters++
			}
		}
		for k := i; k < j; k++ {
			c := f[k]
			switch {
			case isLower(c):
			case letters == 0 || j-i < 3,
				c == '@' && k == i,   // a handle
				c == '!' && k == j-1: // an exclamation
			case c == '1':
				c, ones = one, true
			default:
				c = leetLetter[c]
			}
			if isLower(c) && len(out) > 0 && out[len(out)-1] == c && k > i {
				en[len(en)-1] = buf.fend[k] // repeated letters, as in the folded view
				continue
			}
			out, st, en = append(out, c), append(st, buf.fstart[k]), append(en, buf.fend[k])
		}
		i = j
	}
	return out, st, en, ones
}
