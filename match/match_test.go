package match

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

type hit struct{ id, start, end int }

// naive finds every occurrence by trying each pattern at each position.
func naive(patterns [][]byte, text []byte) []hit {
	var hits []hit
	for end := 1; end <= len(text); end++ {
		for id, p := range patterns {
			if len(p) > 0 && end >= len(p) && bytes.Equal(text[end-len(p):end], p) {
				hits = append(hits, hit{id, end - len(p), end})
			}
		}
	}
	return hits
}

func find(a *Automaton, text []byte) []hit {
	var hits []hit
	a.Find(text, func(id, s, e int) { hits = append(hits, hit{id, s, e}) })
	return hits
}

func sortHits(h []hit) {
	slices.SortFunc(h, func(a, b hit) int {
		if a.end != b.end {
			return a.end - b.end
		}
		return a.id - b.id
	})
}

func TestFind(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		text     string
		want     []hit
	}{
		{"none", []string{"ivory"}, "plastic", nil},
		{"one", []string{"ivory"}, "an ivory bangle", []hit{{0, 3, 8}}},
		{"overlap", []string{"he", "she", "his", "hers"}, "ushers", []hit{{0, 2, 4}, {1, 1, 4}, {3, 2, 6}}},
		{"nested", []string{"白塑料", "塑料"}, "老白塑料", []hit{{0, 3, 12}, {1, 6, 12}}},
		{"empty pattern ignored", []string{"", "a"}, "aa", []hit{{1, 0, 1}, {1, 1, 2}}},
		{"duplicates", []string{"ab", "ab"}, "ab", []hit{{0, 0, 2}, {1, 0, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps [][]byte
			for _, p := range tt.patterns {
				ps = append(ps, []byte(p))
			}
			a, err := Build(ps)
			if err != nil {
				t.Fatal(err)
			}
			got := find(a, []byte(tt.text))
			sortHits(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFindAgreesWithNaive compares the automaton with a naive search on
// random patterns and texts over a small alphabet, where overlaps abound.
func TestFindAgreesWithNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abc\xe8\xb1"[rng.IntN(5)]
		}
		return b
	}
	for round := 0; round < 2000; round++ {
		var ps [][]byte
		for i := rng.IntN(20) + 1; i > 0; i-- {
			ps = append(ps, word(rng.IntN(5)+1))
		}
		text := word(rng.IntN(60))
		a, err := Build(ps)
		if err != nil {
			t.Fatal(err)
		}
		got, want := find(a, text), naive(ps, text)
		sortHits(got)
		sortHits(want)
		if !slices.Equal(got, want) {
			t.Fatalf("patterns %q text %q: got %v, want %v", ps, text, got, want)
		}
		// With 'a' and 'b' equivalent, the automaton finds what a naive
		// search finds once every 'b' is read as 'a'.
		ea, err := BuildWith(ps, Options{Equivalent: [][]byte{[]byte("ab")}})
		if err != nil {
			t.Fatal(err)
		}
		asA := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("b"), []byte("a")) }
		var mapped [][]byte
		for _, p := range ps {
			mapped = append(mapped, asA(p))
		}
		got, want = find(ea, text), naive(mapped, asA(text))
		sortHits(got)
		sortHits(want)
		if !slices.Equal(got, want) {
			t.Fatalf("a≡b: patterns %q text %q: got %v, want %v", ps, text, got, want)
		}
		// With 'a' and 'c' as word bytes, a pattern that begins with one
		// is found only where no word byte comes before it.
		wa, err := BuildWith(ps, Options{WordBytes: []byte("ac")})
		if err != nil {
			t.Fatal(err)
		}
		isWord := func(b byte) bool { return b == 'a' || b == 'c' }
		want = want[:0]
		for _, h := range naive(ps, text) {
			if !isWord(ps[h.id][0]) || h.start == 0 || !isWord(text[h.start-1]) {
				want = append(want, h)
			}
		}
		got = find(wa, text)
		sortHits(got)
		sortHits(want)
		if !slices.Equal(got, want) {
			t.Fatalf("word bytes: patterns %q text %q: got %v, want %v", ps, text, got, want)
		}
	}
}

func FuzzFind(f *testing.F) {
	f.Add("ivory,horn", "rhino horn ivory")
	f.Fuzz(func(t *testing.T, pats, text string) {
		var ps [][]byte
		for _, p := range bytes.Split([]byte(pats), []byte(",")) {
			if len(p) <= 8 {
				ps = append(ps, p)
			}
		}
		if len(ps) > 50 || len(text) > 200 {
			return
		}
		a, err := Build(ps)
		if err != nil {
			t.Fatal(err)
		}
		got, want := find(a, []byte(text)), naive(ps, []byte(text))
		sortHits(got)
		sortHits(want)
		if !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}

func BenchmarkFind(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	var ps [][]byte
	for i := 0; i < 5000; i++ {
		p := make([]byte, 4+rng.IntN(8))
		for k := range p {
			p[k] = byte('a' + rng.IntN(26))
		}
		ps = append(ps, p)
	}
	a, err := Build(ps)
	if err != nil {
		b.Fatal(err)
	}
	text := bytes.Repeat([]byte("vintage carved bangle in excellent condition, message me for the price "), 100)
	b.SetBytes(int64(len(text)))
	n := 0
	for b.Loop() {
		a.Find(text, func(id, s, e int) { n++ })
	}
	b.ReportMetric(float64(a.States()), "states")
}

func TestEquivalentBytes(t *testing.T) {
	a, err := BuildWith([][]byte{[]byte("rhino horn"), []byte("horn-bill")}, Options{Equivalent: [][]byte{[]byte(" -")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		text string
		want []hit
	}{
		{"rhino-horn", []hit{{0, 0, 10}}},
		{"rhino horn", []hit{{0, 0, 10}}},
		{"a horn bill", []hit{{1, 2, 11}}},
		{"rhino_horn", nil},
	} {
		got := find(a, []byte(tt.text))
		sortHits(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestWordBytesRefuseMixedClasses(t *testing.T) {
	_, err := BuildWith([][]byte{[]byte("a b")}, Options{Equivalent: [][]byte{[]byte("a-")}, WordBytes: []byte("ab")})
	if err == nil {
		t.Fatal("a word byte read as one with a separator was accepted")
	}
}

func TestTooManyClasses(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	if _, err := Build([][]byte{all}); err == nil {
		t.Error("257 byte classes accepted")
	}
	if _, err := BuildWith([][]byte{all[:255]}, Options{WordBytes: []byte("a")}); err == nil {
		t.Error("256 classes with word bytes accepted")
	}
	if _, err := BuildWith([][]byte{all[:200]}, Options{WordBytes: []byte("a")}); err != nil {
		t.Errorf("200 byte classes with word bytes: %v", err)
	}
}
