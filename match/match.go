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
}

// Build compiles patterns. Pattern i is reported with id i; empty patterns
// are never reported. Duplicates are allowed and each is reported.
func Build(patterns [][]byte) (*Automaton, error) {
	a := &Automaton{lengths: make([]int32, len(patterns))}
	// Byte classes: each byte used by some pattern gets its own class.
	var used [256]bool
	for _, p := range patterns {
		for _, b := range p {
			used[b] = true
		}
	}
	a.nclasses = 1
	for b := range used {
		if used[b] {
			a.classes[b] = uint8(a.nclasses)
			a.nclasses++
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
	// transitions.
	fail := make([]int32, len(outs))
	order := make([]int32, 0, len(outs))
	for c := 0; c < nc; c++ {
		if nx := a.delta[c]; nx > 0 {
			order = append(order, nx)
		} else {
			a.delta[c] = 0
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
	nodes := outs
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
	return a, nil
}

// States returns the number of states, a measure of the table's size.
func (a *Automaton) States() int { return len(a.outStart) - 1 }

// Find calls fn for every occurrence of every pattern in text, in order of
// end position, with the pattern id and the byte span [start, end).
// Overlapping occurrences are all reported.
func (a *Automaton) Find(text []byte, fn func(id, start, end int)) {
	delta, classes, nc := a.delta, &a.classes, int32(a.nclasses)
	row := int32(0)
	for i, b := range text {
		row = delta[row+int32(classes[b])]
		if row < 0 {
			row = -row - 1
			s := row / nc
			for _, id := range a.outs[a.outStart[s]:a.outStart[s+1]] {
				fn(int(id), i+1-int(a.lengths[id]), i+1)
			}
		}
	}
}

// Classes returns the number of byte classes, the width of the table.
func (a *Automaton) Classes() int { return a.nclasses }
