// Package match finds many byte patterns at once: an Aho-Corasick automaton
// compiled to a deterministic table over byte classes, so that scanning
// costs one table lookup per input byte whatever the number of patterns.
package match

import (
	"fmt"
)

// Automaton matches a fixed set of patterns. It is immutable and safe for
// concurrent use.
type Automaton struct {
	classes  [256]uint8 // byte → class; class 0 is every byte no pattern uses
	nclasses int
	// delta[row+class] is the next state's row (state × nclasses), negated
	// and less one when the next state has outputs, so that the scanning
	// loop reads one table per byte.
	delta []int32
	// outputs of state s are outs[outStart[s]:outStart[s+1]]: pattern ids
	// that end at s, including those reached through suffix links.
	outStart []int32
	outs     []int32
	lengths  []int32 // pattern id → length in bytes
	maxLen   int32   // the longest pattern's length
	// With Options.WordBytes: the word bytes, and the row of the state
	// "inside a word" (else 0, the root's).
	word   [256]bool
	inside int32
}

// Build compiles patterns. Pattern i is reported with id i; empty patterns
// are never reported. Duplicates are allowed and each is reported.
func Build(patterns [][]byte) (*Automaton, error) {
	return BuildWith(patterns, Options{})
}

// Options change what an automaton tells apart.
type Options struct {
	// Equivalent lists sets of bytes that the automaton reads as one: a
	// pattern with any of them matches text with any other (with ' ' and
	// '-' together, "rhino horn" also finds "rhino-horn"). Fewer distinct
	// patterns make a smaller table.
	Equivalent [][]byte
	// WordBytes, when not empty, are the bytes words are made of. A
	// pattern that begins with one of them is then reported only at the
	// start of a word: where it does not follow one of them. Inside a word
	// that no pattern can continue, the automaton waits in one state for
	// the word to end instead of following every suffix of it: for a
	// caller that wants whole words only, a much smaller part of the table
	// is ever read. Patterns that begin with another byte are reported
	// wherever they occur. Bytes read as one (Equivalent) must all be word
	// bytes or all not.
	WordBytes []byte
}

// BuildWith compiles patterns as Build does, with options.
func BuildWith(patterns [][]byte, o Options) (*Automaton, error) {
	a := &Automaton{lengths: make([]int32, len(patterns))}
	// Byte classes: each byte used by some pattern gets its own class,
	// shared with the bytes equivalent to it.
	var rep [256]byte // byte → the first byte of its equivalence set
	for b := range rep {
		rep[b] = byte(b)
	}
	for _, set := range o.Equivalent {
		for _, b := range set {
			rep[b] = rep[set[0]]
		}
	}
	var used [256]bool
	for _, p := range patterns {
		for _, b := range p {
			used[rep[b]] = true
		}
	}
	a.nclasses = 1
	for b := range used {
		if used[b] {
			a.classes[b] = uint8(a.nclasses)
			a.nclasses++
		}
	}
	for b := range rep {
		a.classes[b] = a.classes[rep[b]]
	}
	// With word bytes, a class holds only word bytes or only others: the
	// bytes no pattern uses are split into two classes.
	var inWord [256]bool // by class
	if len(o.WordBytes) > 0 {
		if a.nclasses >= 256 {
			return nil, fmt.Errorf("match: %d byte classes leave none for the word bytes no pattern uses", a.nclasses)
		}
		for _, b := range o.WordBytes {
			a.word[b] = true
		}
		unusedWord := a.nclasses
		a.nclasses++
		for b := range a.classes {
			if a.classes[b] == 0 && a.word[b] {
				a.classes[b] = uint8(unusedWord)
			}
		}
		var seen, mixed [256]bool
		for b := range a.classes {
			c := a.classes[b]
			if seen[c] && inWord[c] != a.word[b] {
				mixed[c] = true
			}
			seen[c], inWord[c] = true, a.word[b]
		}
		for b := range a.classes {
			if mixed[a.classes[b]] {
				return nil, fmt.Errorf("match: byte %q is read as one with bytes on the other side of WordBytes", byte(b))
			}
		}
	}
	if a.nclasses > 256 {
		return nil, fmt.Errorf("match: %d byte classes", a.nclasses)
	}
	// The trie's edges first, to know how many states the table needs;
	// then the table, sized exactly (a table grown by appending would need
	// twice the memory while it grows).
	nc := a.nclasses
	edges := make(map[uint64]int32)
	outs := [][]int32{nil}
	for id, p := range patterns {
		a.lengths[id] = int32(len(p))
		a.maxLen = max(a.maxLen, int32(len(p)))
		if len(p) == 0 {
			continue
		}
		s := int32(0)
		for _, b := range p {
			key := uint64(s)<<8 | uint64(a.classes[b])
			nx, ok := edges[key]
			if !ok {
				nx = int32(len(outs))
				outs = append(outs, nil)
				edges[key] = nx
			}
			s = nx
		}
		outs[s] = append(outs[s], int32(id))
	}
	// With word bytes, the root has a twin, "inside a word": the state
	// after a word byte that no pattern continues, where a pattern that
	// begins with a word byte cannot begin.
	inside := int32(0)
	if len(o.WordBytes) > 0 {
		inside = int32(len(outs))
		outs = append(outs, nil)
	}
	if int64(len(outs))*int64(nc) >= 1<<31-1 {
		return nil, fmt.Errorf("match: %d states × %d byte classes is too large", len(outs), nc)
	}
	a.delta = make([]int32, len(outs)*nc)
	for i := range a.delta {
		a.delta[i] = -1
	}
	for key, nx := range edges {
		a.delta[int(key>>8)*nc+int(key&0xFF)] = nx
	}
	edges = nil
	// Breadth-first: failure links, outputs through them, and the missing
	// transitions. With word bytes, the failure link of a state is its
	// longest proper suffix that begins a word (after a byte that is not a
	// word byte, or with such a byte), and the root or its twin when there
	// is none, by whether the state ends with a word byte.
	fail := make([]int32, len(outs))
	order := make([]int32, 0, len(outs))
	rootAfter := func(c int) int32 { // the root state after a byte of class c
		if inside != 0 && inWord[c] {
			return inside
		}
		return 0
	}
	for c := 0; c < nc; c++ {
		if nx := a.delta[c]; nx > 0 {
			fail[nx] = rootAfter(c)
			order = append(order, nx)
		} else {
			a.delta[c] = rootAfter(c)
		}
	}
	if inside != 0 {
		for c := 0; c < nc; c++ {
			if inWord[c] {
				a.delta[int(inside)*nc+c] = inside
			} else {
				a.delta[int(inside)*nc+c] = a.delta[c]
			}
		}
	}
	for q := 0; q < len(order); q++ {
		s := order[q]
		outs[s] = append(outs[s], outs[fail[s]]...)
		row, frow := int(s)*nc, int(fail[s])*nc
		for c := 0; c < nc; c++ {
			if nx := a.delta[row+c]; nx > 0 {
				fail[nx] = a.delta[frow+c]
				order = append(order, nx)
			} else {
				a.delta[row+c] = a.delta[frow+c]
			}
		}
	}
	// Number the states breadth-first: the shallow states, where a scan
	// spends nearly all its time, then share cache lines and pages instead
	// of lying scattered over a table of megabytes.
	if inside != 0 {
		order = append(order, inside) // last: it has no parent
	}
	renumber := make([]int32, len(outs))
	for q, s := range order {
		renumber[s] = int32(q + 1)
	}
	table := make([]int32, len(a.delta))
	nodes := make([][]int32, len(outs))
	nodes[0] = outs[0]
	copy(table[:nc], a.delta[:nc])
	for q, s := range order {
		copy(table[(q+1)*nc:(q+2)*nc], a.delta[int(s)*nc:(int(s)+1)*nc])
		nodes[q+1] = outs[s]
	}
	for i, next := range table {
		table[i] = renumber[next]
	}
	a.delta = table
	a.outStart = make([]int32, len(nodes)+1)
	for s := range nodes {
		a.outStart[s] = int32(len(a.outs))
		a.outs = append(a.outs, nodes[s]...)
	}
	a.outStart[len(nodes)] = int32(len(a.outs))
	if int64(len(nodes))*int64(nc) >= 1<<31-1 {
		return nil, fmt.Errorf("match: table of %d states × %d classes is too large", len(nodes), nc)
	}
	for i, next := range a.delta {
		row := next * int32(nc)
		if a.outStart[next] != a.outStart[next+1] {
			row = -row - 1
		}
		a.delta[i] = row
	}
	if inside != 0 {
		a.inside = renumber[inside] * int32(nc)
	}
	return a, nil
}

// States returns the number of states, a measure of the table's size.
func (a *Automaton) States() int { return len(a.outStart) - 1 }

// Find calls fn for every occurrence of every pattern in text, in order of
// end position, with the pattern id and the byte span [start, end).
// Overlapping occurrences are all reported.
//
// A scan is a chain of dependent table reads, each waiting for the one
// before: its speed is the memory's latency, not its bandwidth. A long text
// is therefore scanned as two halves at once, two independent chains whose
// reads overlap in time. The second half starts early by the longest
// pattern's length less one, so that it sees every occurrence that ends in
// it, and its occurrences are held back until the first half's are
// reported.
func (a *Automaton) Find(text []byte, fn func(id, start, end int)) {
	if len(text) < 2*int(a.maxLen)+splitMin {
		a.findFrom(text, 0, 0, fn)
		return
	}
	delta, classes, nc := a.delta, &a.classes, int32(a.nclasses)
	mid := len(text) / 2
	second := mid - int(a.maxLen) + 1 // where the second chain starts
	first, rest := text[:mid], text[second:]
	rest = rest[:len(first)] // the part scanned beside the first half
	var held [32]heldOutput
	pending := held[:0]
	row1, row2 := int32(0), int32(0)
	if a.word[text[second-1]] {
		row2 = a.inside // the second half begins inside a word
	}
	for i, b := range first {
		row1 = delta[row1+int32(classes[b])]
		row2 = delta[row2+int32(classes[rest[i]])]
		if row1|row2 >= 0 {
			continue
		}
		if row1 < 0 {
			row1 = -row1 - 1
			a.emit(row1/nc, i+1, fn)
		}
		if row2 < 0 {
			row2 = -row2 - 1
			if end := second + i + 1; end > mid {
				pending = append(pending, heldOutput{state: row2 / nc, end: int32(end)})
			}
		}
	}
	for _, p := range pending {
		a.emit(p.state, int(p.end), fn)
	}
	a.findFrom(text, second+len(first), row2, fn)
}

// splitMin is the shortest text, beyond twice the longest pattern, that
// Find scans as two halves.
const splitMin = 16

// heldOutput is the state reached at an end position whose outputs wait
// to be reported.
type heldOutput struct{ state, end int32 }

// findFrom scans text[from:] starting in the state at row.
func (a *Automaton) findFrom(text []byte, from int, row int32, fn func(id, start, end int)) {
	delta, classes, nc := a.delta, &a.classes, int32(a.nclasses)
	for i := from; i < len(text); i++ {
		row = delta[row+int32(classes[text[i]])]
		if row < 0 {
			row = -row - 1
			a.emit(row/nc, i+1, fn)
		}
	}
}

// emit reports the outputs of state s at end position end.
func (a *Automaton) emit(s int32, end int, fn func(id, start, end int)) {
	for _, id := range a.outs[a.outStart[s]:a.outStart[s+1]] {
		fn(int(id), end-int(a.lengths[id]), end)
	}
}

// Classes returns the number of byte classes, the width of the table.
func (a *Automaton) Classes() int { return a.nclasses }

// MaxLen returns the longest pattern's length in bytes.
func (a *Automaton) MaxLen() int { return int(a.maxLen) }
