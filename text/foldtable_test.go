package text

import (
	"bytes"
	"flag"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/liuzl/gocc"
	"github.com/mozillazg/go-pinyin"
)

var updateFoldTable = flag.Bool("update-foldtable", false, "rewrite foldtable.bin from the Unicode, gocc and go-pinyin data")

// TestFoldTableIsCurrent rebuilds the fold table from its sources and
// checks that the embedded one is the same, byte for byte (with
// -update-foldtable, it writes it instead).
func TestFoldTableIsCurrent(t *testing.T) {
	want, err := encodeFoldTable(buildFoldTable())
	if err != nil {
		t.Fatal(err)
	}
	if *updateFoldTable {
		if err := os.WriteFile("foldtable.bin", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal([]byte(foldTableData), want) {
		t.Fatalf("foldtable.bin is stale (%d bytes, built %d): run go generate ./text", len(foldTableData), len(want))
	}
	// And it decodes to the table it was built from.
	got, err := decodeFoldTable(string(want))
	if err != nil {
		t.Fatal(err)
	}
	built := buildFoldTable()
	if got.class != built.class || got.folded != built.folded || len(got.latin) != len(built.latin) {
		t.Fatal("the decoded table differs from the built one")
	}
	for i := range built.pinyin {
		if got.pinyin[i] != built.pinyin[i] {
			t.Fatalf("pinyin of U+%04X: %q, want %q", pinyinFirst+i, got.pinyin[i], built.pinyin[i])
		}
	}
}

func TestDecodeFoldTableRefusesDamage(t *testing.T) {
	for name, data := range map[string]string{
		"empty":       "",
		"other magic": "wildwarden fold table 0\n",
		"truncated":   foldTableData[:len(foldTableData)/2],
		"trailing":    foldTableData + "x",
	} {
		if _, err := decodeFoldTable(data); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// buildFoldTable derives the fold table from first principles: the source
// of foldtable.bin.
func buildFoldTable() *foldTable {
	t := &foldTable{pinyin: make([]string, pinyinLast-pinyinFirst+1)}
	t2s, err := gocc.New("t2s")
	if err != nil {
		// gocc embeds its dictionaries; failing to load them is a build defect.
		panic("text: loading Traditional-to-Simplified tables: " + err.Error())
	}
	for r := rune(0); r < 0x10000; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			t.class[r] = classDrop
			continue
		}
		cls, s := foldRuneSlow(r)
		if cls == classHan && utf8.RuneCountInString(s) == 1 {
			if simp, err := t2s.Convert(s); err == nil && utf8.RuneCountInString(simp) == 1 {
				s = simp
			}
		}
		t.class[r] = cls
		t.folded[r] = s
	}
	t.deriveLatin()
	args := pinyin.NewArgs()
	for r := rune(pinyinFirst); r <= pinyinLast; r++ {
		if p := pinyin.SinglePinyin(r, args); len(p) > 0 && p[0] != "" {
			t.pinyin[r-pinyinFirst] = p[0]
		}
	}
	return t
}
