package detect

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/kb"
)

// testDetector is built on the small knowledge base in testdata/kb, so
// that each rule is tested apart from the real data.
func testDetector(t *testing.T) *Detector {
	t.Helper()
	k, err := kb.Load(os.DirFS("testdata/kb"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(k)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// found lists the evidence as "name=text".
func found(f *Findings) []string {
	var out []string
	for _, e := range f.Evidence {
		out = append(out, e.Name+"="+e.Text)
	}
	return out
}

func TestDetect(t *testing.T) {
	d := testDetector(t)
	tests := []struct {
		name    string
		l       wildwarden.Listing
		want    []string // evidence that must be found
		notWant []string // evidence that must not be found
	}{
		{"code word with offer", wildwarden.Listing{Title: "老白塑料手镯 出 加V"},
			[]string{"lexicon.code_word=白塑料", "context.sale_intent=出", "context.contact=加V"}, nil},
		{"colour phrase masks the code word", wildwarden.Listing{Title: "米白塑料收纳盒"},
			[]string{"context.colour_use=米白塑料"}, []string{"lexicon.code_word=白塑料"}},
		{"colour phrase masks the product", wildwarden.Listing{Title: "象牙白连衣裙"},
			[]string{"context.colour_use=象牙白"}, []string{"lexicon.product=象牙"}},
		{"colour word beside colour context", wildwarden.Listing{Title: "ivory wedding dress"},
			[]string{"context.colour_use=ivory"}, []string{"lexicon.product=ivory"}},
		{"homoglyphs and separators", wildwarden.Listing{Title: "carved і.v.о.r.у for sale"},
			[]string{"lexicon.product=і.v.о.r.у", "evasion.obfuscated=і.v.о.r.у"}, nil},
		{"leet view", wildwarden.Listing{Title: "rh!n0 h0rn for sale"},
			[]string{"lexicon.product=rh!n0 h0rn", "evasion.obfuscated=rh!n0 h0rn"}, nil},
		{"plain word is not obfuscated", wildwarden.Listing{Title: "Ivory for sale"},
			[]string{"lexicon.product=Ivory"}, []string{"evasion.obfuscated=Ivory"}},
		{"homophone with offer", wildwarden.Listing{Title: "象芽手镯 出"},
			[]string{"lexicon.homophone=象芽"}, nil},
		{"homophone alone is weak", wildwarden.Listing{Title: "象芽手镯"},
			nil, []string{"lexicon.homophone=象芽"}},
		{"false friend masks the homophone", wildwarden.Listing{Title: "湘雅医院 出"},
			[]string{"context.false_friend=湘雅医院"}, []string{"lexicon.homophone=湘雅"}},
		{"literal term is not a homophone", wildwarden.Listing{Title: "象牙 出"},
			[]string{"lexicon.product=象牙"}, []string{"lexicon.homophone=象牙"}},
		{"typed pinyin in a Chinese listing", wildwarden.Listing{Lang: "zh-Hans", Title: "xiangya bangle 出"},
			[]string{"lexicon.pinyin=xiangya"}, nil},
		{"typed pinyin ignored in other languages", wildwarden.Listing{Lang: "ms", Title: "xiangya for sale"},
			nil, []string{"lexicon.pinyin=xiangya"}},
		{"typed pinyin of a false friend masks", wildwarden.Listing{Lang: "zh-Hans", Title: "xiangya yiyuan 出"},
			nil, []string{"lexicon.pinyin=xiangya"}},
		{"animal and part", wildwarden.Listing{Title: "tiger bone for sale"},
			[]string{"lexicon.animal_part=tiger bone"}, nil},
		{"emoji animal and part", wildwarden.Listing{Title: "🐘🦷 for sale"},
			[]string{"lexicon.animal_part=🐘🦷"}, nil},
		{"part alone is nothing", wildwarden.Listing{Title: "bone china for sale"},
			nil, []string{"lexicon.animal_part=bone"}},
		{"weak animal alone is dropped", wildwarden.Listing{Title: "tiger t-shirt"},
			nil, []string{"lexicon.animal=tiger"}},
		{"brand masks the animal", wildwarden.Listing{Title: "Tiger Balm for sale"},
			[]string{"context.false_friend=Tiger Balm"}, []string{"lexicon.animal=Tiger"}},
		{"word boundaries", wildwarden.Listing{Title: "ivorycoast tigers"},
			nil, []string{"lexicon.product=ivory"}},
		{"imitation", wildwarden.Listing{Title: "resin ivory figure $20"},
			[]string{"context.imitation=resin", "context.price=$2"}, nil},
		{"negated imitation", wildwarden.Listing{Title: "ivory bangle, not resin, $20"},
			[]string{"lexicon.product=ivory"}, []string{"context.imitation=resin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.l
			l.ID = "t"
			got := found(d.Detect(&l, new(Scratch)))
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("%q: missing %s; found %v", l.Title, w, got)
				}
			}
			for _, w := range tt.notWant {
				if slices.Contains(got, w) {
					t.Errorf("%q: must not find %s; found %v", l.Title, w, got)
				}
			}
		})
	}
}

// TestEvidenceNamesSpecies checks that a term's taxon reaches the signal.
func TestEvidenceNamesSpecies(t *testing.T) {
	d := testDetector(t)
	f := d.Detect(&wildwarden.Listing{ID: "t", Title: "tiger bone for sale"}, new(Scratch))
	for _, e := range f.Evidence {
		if e.Name == SigAnimalPart {
			if e.Species != "Panthera tigris" || e.CITES != "I" || e.Category != "big_cat" || !strings.Contains(e.Term, "tiger") {
				t.Errorf("animal part evidence %+v", e.Signal)
			}
			return
		}
	}
	t.Errorf("no animal part found: %v", found(f))
}
