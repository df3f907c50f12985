package detect

import (
	"regexp"
	"slices"
	"testing"
)

// TestRegexPrefilter checks that the prefiltered, anchored search finds
// what a plain search finds, for expressions of the kinds cues use.
func TestRegexPrefilter(t *testing.T) {
	exprs := []string{
		`[$€£¥]\s?\d+`,
		`\d+(?:[.,]\d+)?\s?(?:usd|rmb|元|块)`,
		`(?i)(?:wechat|vx)\s*[:：]?\s*[a-z0-9_]{4,}`,
		`\+?\d[\d -]{7,14}\d`,
		`a*b?`, // nullable: no prefilter
		`[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`,
		`\brm\s?\d`,
		`\b\d{8,15}\b`,
		`\b(circa|c\.|ca\.|dated|made in)\s?(1[5-8]\d\d)\b`,
		`(?i)(wechat|weixin|vx|wx|v信|微信)[\s:：]*[a-z][a-z0-9_-]{5,19}`,
		`(^|[^a-z0-9._%+-])@[a-z0-9_.]{3,30}`,
		`\Qrm$`,        // quoted to the end: the anchored copy must not quote its own ")"
		`(?i)\Qwechat`, // flags and a quote together
	}
	texts := []string{
		"price $200 or ¥1,500 rmb, 1200元 and 300 usd",
		"wechat: ivory888, VX abc12345",
		"call +84 912 345 678 now",
		"nothing here",
		"us$5 $$9",
		"mail me: abc.def@example.com or rm 200, id 1234567890 x123456789",
		"carved circa 1850, made in 1799; ca.1600 wechat: abcdef1 微信 zz12345 vx:qwerty",
		"dm @ivory_shop or ig @carver99 for 1850 pieces",
		"pay rm$ 50 or RM$ 60 by WeChat",
	}
	for _, expr := range exprs {
		rc, err := newRegexCue(0, expr)
		if err != nil {
			t.Fatal(err)
		}
		plain := regexp.MustCompile(expr)
		for _, text := range texts {
			var got [][2]int
			newRegexSet([]regexCue{rc}).findAll([]byte(text), func(_ *regexCue, s, e int) { got = append(got, [2]int{s, e}) })
			var want [][2]int
			for _, loc := range plain.FindAllStringIndex(text, -1) {
				if loc[0] < loc[1] {
					want = append(want, [2]int{loc[0], loc[1]})
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s on %q: got %v, want %v", expr, text, got, want)
			}
		}
	}
	// All at once: the expressions share what is known of the text's bytes.
	var cues []regexCue
	for i, expr := range exprs {
		rc, err := newRegexCue(i, expr)
		if err != nil {
			t.Fatal(err)
		}
		cues = append(cues, rc)
	}
	set := newRegexSet(cues)
	for _, text := range texts {
		got := map[int][][2]int{}
		set.findAll([]byte(text), func(rc *regexCue, s, e int) { got[rc.cue] = append(got[rc.cue], [2]int{s, e}) })
		for i, expr := range exprs {
			var want [][2]int
			for _, loc := range regexp.MustCompile(expr).FindAllStringIndex(text, -1) {
				if loc[0] < loc[1] {
					want = append(want, [2]int{loc[0], loc[1]})
				}
			}
			if !slices.Equal(got[i], want) {
				t.Errorf("in one set, %s on %q: got %v, want %v", expr, text, got[i], want)
			}
		}
	}
}
