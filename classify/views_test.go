package classify

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/text"
)

// TestSharedViewsGiveTheSameFeatures checks that features from the
// detector's kept views equal those from normalizing the text again.
func TestSharedViewsGiveTheSameFeatures(t *testing.T) {
	k, err := kb.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	d, err := detect.New(k)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Default()
	if err != nil || m == nil {
		t.Fatalf("default model: %v", err)
	}
	m.BindKB(k)
	listings := []*wildwarden.Listing{
		{ID: "1", Title: "老白塑料手镯 出 加V", Description: "私聊价格，象芽 手串", Seller: wildwarden.Seller{Description: "WhatsApp in bio"}},
		{ID: "2", Title: "Carved і.v.о.r.у bangle 1v0ry", Description: "DM for price $200 🐘🦷"},
		{ID: "3", Title: "Ivory lace wedding dress"},
		// Fields long enough that the detector's buffer of kept views
		// grows while it keeps them.
		{ID: "4", Title: "象牙手镯", Description: strings.Repeat("老白塑料 carved bangle ", 200), Seller: wildwarden.Seller{Name: "古玩", Description: strings.Repeat("antiques ", 300)}},
	}
	for _, l := range listings {
		kept := &detect.Scratch{KeepViews: true}
		withViews := d.Detect(l, kept)
		if len(withViews.Views) == 0 {
			t.Fatalf("%s: no views kept", l.ID)
		}
		for _, fv := range withViews.Views {
			field := slices.IndexFunc(l.TextFields(), func(tf wildwarden.TextField) bool { return tf.Name == fv.Field })
			if field < 0 {
				t.Fatalf("%s: kept a view of %q, not a field of the listing", l.ID, fv.Field)
			}
			var buf text.Buffer
			views := d.Normalizer().Views(l.TextFields()[field].Text, &buf)
			if !bytes.Equal(fv.Folded, views[0].Text) {
				t.Errorf("%s %s: kept folded view %q, want %q", l.ID, fv.Field, fv.Folded, views[0].Text)
			}
		}
		shared := slices.Clone(m.ext.Extract(l, withViews, new(Scratch)))
		plain := d.Detect(l, new(detect.Scratch))
		again := m.ext.Extract(l, plain, new(Scratch))
		if len(shared) != len(again) {
			t.Fatalf("%s: %d features from kept views, %d from normalizing again", l.ID, len(shared), len(again))
		}
		for i := range shared {
			if shared[i].index != again[i].index || shared[i].value != again[i].value {
				t.Fatalf("%s: feature %d differs: %+v vs %+v", l.ID, i, shared[i], again[i])
			}
		}
	}
}
