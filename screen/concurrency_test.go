package screen

import (
	"bytes"
	"sync"
	"testing"
)

// TestConcurrentScreeningIsDeterministic screens the corpus from several
// goroutines at once and expects the same verdicts as one goroutine: the
// engine holds no state between listings.
func TestConcurrentScreeningIsDeterministic(t *testing.T) {
	items := screenCorpus(t, "../testdata/corpus/corpus.jsonl")
	e := testEngine(t)
	want := make([][]byte, len(items))
	for i := range items {
		want[i] = items[i].v.AppendJSON(nil)
	}
	got := make([][]byte, len(items))
	var wg sync.WaitGroup
	const workers = 6
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(items); i += workers {
				got[i] = e.ScreenListing(&items[i].l).AppendJSON(nil)
			}
		}()
	}
	wg.Wait()
	for i := range items {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s: concurrent verdict differs:\n got %s\nwant %s", items[i].l.ID, got[i], want[i])
		}
	}
}
