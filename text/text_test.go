package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var testNormalizer = New(Options{Emoji: map[string]string{"🐘": "elephant", "🦷": "tooth", "🦏": "rhino"}})

func TestFolded(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Ivory Bangle", "ivory bangle"},
		{"homoglyph cyrillic", "іvоrу", "ivory"},
		{"homoglyph greek", "Ιvοry", "ivory"},
		{"fullwidth", "ＩＶＯＲＹ", "ivory"},
		{"zero width", "iv\u200bo\u200dry", "ivory"},
		{"soft hyphen", "ivo\u00adry", "ivory"},
		{"diacritics precomposed", "ìvõrÿ", "ivory"},
		{"diacritics combining", "i\u0300vo\u0303ry", "ivory"},
		{"dots", "i.v.o.r.y bangle", "ivory bangle"},
		{"spaces", "i v o r y", "ivory"},
		{"two spread words", "r-h-i-n-o h-o-r-n", "rhino horn"},
		{"two singles stay", "a b testing", "a b testing"},
		{"two singles with symbols join", "palo d*e rosa", "palo de rosa"},
		{"kana spread", "ス.ロ.ー.ロ.リ.ス", "すろーろりす"},
		{"thai spread", "ง.า.ช้.า.ง", "งาช้าง"},
		{"han kana spread", "虎·の·牙", "虎の牙"},
		{"digits stay in the folded view", "1v0ry", "1v0ry"},
		{"number stays", "rmb1200", "rmb1200"},
		{"repeats", "ivoooory", "ivory"},
		{"double letters collapse", "shell", "shel"},
		{"case", "IvOrY", "ivory"},
		{"white space collapses", "rhino \t\n horn", "rhino horn"},
		{"han spaced", "象 牙", "象牙"},
		{"han singles spaced", "象 牙 手 镯", "象牙手镯"},
		{"han words keep their spaces", "海马 玩具 洗澡", "海马 玩具 洗澡"},
		{"han starred", "象*牙", "象牙"},
		{"han comma stays", "象，牙", "象,牙"},
		{"traditional", "象牙手鐲", "象牙手镯"},
		{"traditional rhino", "犀牛角雕刻", "犀牛角雕刻"},
		{"emoji names", "🐘🦷 for sale", "elephant toth for sale"},
		{"emoji with variation selector", "🐘\ufe0f🦷", "elephant toth "},
		{"invalid utf8 separates", "iv\xffory", "iv ory"},
		{"math letters", "𝐢𝐯𝐨𝐫𝐲", "ivory"},
		{"vietnamese", "Sừng tê giác", "sung te giac"},
		{"thai kept", "งาช้าง", "งาช้าง"},
		{"price kept", "$1,200", "$1,200"},
		{"katakana to hiragana", "ベッコウ", "べっこう"},
		{"half-width voiced kana", "ﾍﾞｯｺｳ ｿﾞｳｹﾞ", "べっこう ぞうげ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fold(testNormalizer, tt.in); got != tt.want {
				t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPinyin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"象芽", "xiang ya "},
		{"相牙手镯", "xiang ya shou zhuo "},
		{"象牙", "xiang ya "},
		{"ivory", ""},
		{"出象牙 100元", "chu xiang ya|100 yuan "},
		{"海马 玩具 洗澡", "hai ma|wan ju|xi zao "},
	}
	for _, tt := range tests {
		if got := Pinyin(testNormalizer, tt.in); got != tt.want {
			t.Errorf("Pinyin(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestSourceSpans checks that a term found in a view maps back to the
// characters a reviewer sees.
func TestSourceSpans(t *testing.T) {
	tests := []struct {
		in, view, find, wantOriginal string
	}{
		{"Carved і.v.о.r.у bangle", ViewFolded, "ivory", "і.v.о.r.у"},
		{"老白塑料手镯", ViewFolded, "白塑料", "白塑料"},
		{"buy ivvvory now", ViewFolded, "ivory", "ivvvory"},
		{"出象芽手镯", ViewPinyin, "xiang ya", "象芽"},
		{"🐘🦷 dm", ViewFolded, "elephant toth", "🐘🦷"},
		{"Dried 83@r p4ws x2", ViewLeet, "bear paws", "83@r p4ws"},
		{"buy 1v0ry", ViewLeet, "ivory", "1v0ry"},
		{"rh1n0 h0rn", ViewLeet, "rhino horn", "rh1n0 h0rn"},
		{"Zahmer P1ump10ri", ViewLeet, "plumplori", "P1ump10ri"},
		{"s4wf!5h rostrum", ViewLeet, "sawfish", "s4wf!5h"},
		{"m4rf!l auténtico", ViewLeet, "marfil", "m4rf!l"},
		{"ＩＶＯＲＹ", ViewFolded, "ivory", "ＩＶＯＲＹ"},
		{"iv\u200bory", ViewFolded, "ivory", "iv\u200bory"},
	}
	var buf Buffer
	for _, tt := range tests {
		views := testNormalizer.Views(tt.in, &buf)
		var v *View
		i := -1
		for k := range views {
			if views[k].Name == tt.view && i < 0 {
				v = &views[k]
				i = strings.Index(string(v.Text), tt.find)
			}
		}
		if i < 0 {
			t.Fatalf("%q: %q not in a %s view", tt.in, tt.find, tt.view)
		}
		s, e := v.Source(i, i+len(tt.find))
		if got := tt.in[s:e]; got != tt.wantOriginal {
			t.Errorf("%q: source of %q = %q, want %q", tt.in, tt.find, got, tt.wantOriginal)
		}
		rs, re := v.SourceRunes(tt.in, i, i+len(tt.find))
		if got := string([]rune(tt.in)[rs:re]); got != tt.wantOriginal {
			t.Errorf("%q: rune span [%d,%d) = %q, want %q", tt.in, rs, re, got, tt.wantOriginal)
		}
	}
}

// checkViews asserts the invariants every view must keep.
func checkViews(t *testing.T, in string, views []View) {
	t.Helper()
	for _, v := range views {
		if len(v.start) != len(v.Text) || len(v.end) != len(v.Text) {
			t.Fatalf("%q: %s view has %d bytes but %d/%d offsets", in, v.Name, len(v.Text), len(v.start), len(v.end))
		}
		for i := range v.Text {
			s, e := int(v.start[i]), int(v.end[i])
			if s < 0 || s > e || e > len(in) {
				t.Fatalf("%q: %s view byte %d maps to invalid span [%d,%d)", in, v.Name, i, s, e)
			}
			if i > 0 && v.start[i] < v.start[i-1] {
				t.Fatalf("%q: %s view offsets go backwards at byte %d", in, v.Name, i)
			}
		}
		if utf8.Valid([]byte(in)) && !utf8.Valid(v.Text) {
			t.Fatalf("%q: %s view is not valid UTF-8: %q", in, v.Name, v.Text)
		}
	}
}

func FuzzViews(f *testing.F) {
	for _, s := range []string{"", "ivory", "і.v.о.r.у", "象 牙*手鐲", "🐘\u200d🦷", "\xff\xfe", "1v0ry rmb1200", "a b c d", "ＩＶＯＲＹ", "i\u0300"} {
		f.Add(s)
	}
	var buf Buffer
	f.Fuzz(func(t *testing.T, in string) {
		views := testNormalizer.Views(in, &buf)
		if len(views) == 0 || views[0].Name != ViewFolded {
			t.Fatalf("%q: no folded view", in)
		}
		checkViews(t, in, views)
	})
}

func BenchmarkViews(b *testing.B) {
	inputs := map[string]string{
		"latin": "Vintage carved bangle, excellent condition, ships worldwide. Message me for price and more photos of the item. ",
		"han":   "老白塑料手镯，全新包邮，私聊价格，非诚勿扰。支持验货，量大从优。",
	}
	for name, in := range inputs {
		b.Run(name, func(b *testing.B) {
			var buf Buffer
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				testNormalizer.Views(in, &buf)
			}
		})
	}
}

// FuzzASCIIPath checks that the ASCII fast path and the general path agree
// on text and offsets.
func FuzzASCIIPath(f *testing.F) {
	for _, s := range []string{"i.v.o.r.y", "a b c", "1v0ry rmb1200", "ivoooory", "r-h-i-n-o h-o-r-n", "x..y..z", "a\tb\tc", "A.b-c", "iphone13 mp3 3d"} {
		f.Add(s)
	}
	var fast, general Buffer
	f.Fuzz(func(t *testing.T, in string) {
		b := []byte(in)
		for i := range b {
			b[i] &= 0x7F
		}
		in = string(b)
		foldASCII(in, &fast)
		testNormalizer.foldUnits(in, &general)
		if string(fast.folded) != string(general.folded) {
			t.Fatalf("%q: fast %q, general %q", in, fast.folded, general.folded)
		}
		for i := range fast.fstart {
			if fast.fstart[i] != general.fstart[i] || fast.fend[i] != general.fend[i] {
				t.Fatalf("%q: byte %d: fast [%d,%d), general [%d,%d)", in, i, fast.fstart[i], fast.fend[i], general.fstart[i], general.fend[i])
			}
		}
	})
}

func TestPlain(t *testing.T) {
	tests := []struct {
		original, term string
		same           bool
	}{
		{"Ivory", "ivory", true},
		{"sung te giac", "sừng tê giác", true},
		{"象牙手鐲", "象牙手镯", true},
		{"rhino-horn", "rhino horn", true},
		{"ベッコウ", "べっこう", true},
		{"іvоrу", "ivory", false},
		{"ｉｖｏｒｙ", "ivory", false},
		{"i.v.o.r.y", "ivory", false},
		{"1v0ry", "ivory", false},
		{"iv\u200bory", "ivory", false},
		{"ivoooory", "ivory", false},
	}
	for _, tt := range tests {
		if got := Plain(testNormalizer, tt.original) == Plain(testNormalizer, tt.term); got != tt.same {
			t.Errorf("Plain(%q) == Plain(%q) is %v, want %v", tt.original, tt.term, got, tt.same)
		}
	}
}

// FuzzLatinPath checks that the Latin fast path and the general path agree
// on text and offsets for ASCII mixed with letters carrying diacritics.
func FuzzLatinPath(f *testing.F) {
	for _, s := range []string{"Sừng tê giác", "Élfenbein ÄÖÜ", "i.v.ó.r.y", "ivóóory", "Ñandú 1v0ry", "marfíl d*é"} {
		f.Add(s)
	}
	alphabet := []rune("aeioubcdAEIO .-*1 0éèêëÉáàâäÄíìîïóòôöÖúùûüÜñçÇừếảạ")
	var fast, general Buffer
	f.Fuzz(func(t *testing.T, in string) {
		var b []rune
		for _, r := range in {
			b = append(b, alphabet[int(uint32(r))%len(alphabet)])
		}
		in = string(b)
		fast.maybeLeet, general.maybeLeet = false, false
		if !testNormalizer.foldLatin(in, &fast) {
			t.Fatalf("%q: not taken by the Latin path", in)
		}
		testNormalizer.foldUnits(in, &general)
		if string(fast.folded) != string(general.folded) {
			t.Fatalf("%q: fast %q, general %q", in, fast.folded, general.folded)
		}
		for i := range fast.fstart {
			if fast.fstart[i] != general.fstart[i] || fast.fend[i] != general.fend[i] {
				t.Fatalf("%q: byte %d: fast [%d,%d), general [%d,%d)", in, i, fast.fstart[i], fast.fend[i], general.fstart[i], general.fend[i])
			}
		}
		if fast.maybeLeet != general.maybeLeet {
			t.Fatalf("%q: leet flag fast %v, general %v", in, fast.maybeLeet, general.maybeLeet)
		}
	})
}

func TestStrokeLettersFold(t *testing.T) {
	for in, want := range map[string]string{"Đồi mồi": "doi moi", "łój": "loj", "Ørn": "orn", "Ħal Far": "hal far"} {
		if got := Fold(testNormalizer, in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}
