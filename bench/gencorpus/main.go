// Command gencorpus writes a synthetic corpus of marketplace listings in
// JSON Lines for throughput benchmarks: ordinary listings in several
// languages and scripts, with a small share mentioning wildlife products.
// The text is made up; it measures speed, not detection quality.
package main

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
)

var vocab = map[string][]string{
	"en": strings.Fields("vintage new used genuine brand condition excellent shipping free fast seller item bracelet necklace ring bangle carving figurine statue box lamp chair table phone case charger cable dress shirt jacket shoes bag leather wooden ceramic glass silver gold antique collectible rare handmade gift price offer message me for details size colour black white blue red large small set of pieces original"),
	"es": strings.Fields("vendo nuevo usado envío gratis precio oferta pulsera collar anillo figura caja lámpara silla mesa teléfono funda vestido camisa zapatos bolso cuero madera cerámica plata oro antiguo colección regalo"),
	"de": strings.Fields("verkaufe neu gebraucht versand kostenlos preis angebot armband kette ring figur kiste lampe stuhl tisch telefon hülle kleid hemd schuhe tasche leder holz keramik silber gold antik sammlung geschenk"),
	"vi": strings.Fields("bán mới cũ giao hàng miễn phí giá vòng tay dây chuyền nhẫn tượng hộp đèn ghế bàn điện thoại ốp váy áo giày túi da gỗ gốm bạc vàng cổ quà tặng"),
	"zh": strings.Fields("全新 二手 包邮 价格 手镯 项链 戒指 摆件 盒子 台灯 椅子 桌子 手机壳 充电器 连衣裙 衬衫 鞋子 包包 皮革 木质 陶瓷 银 金 古董 收藏 礼物 私聊 出售 正品 现货"),
	"ja": strings.Fields("新品 中古 送料無料 価格 ブレスレット ネックレス 指輪 置物 箱 ランプ 椅子 テーブル スマホケース ワンピース シャツ 靴 バッグ 革 木製 陶器 銀 金 アンティーク コレクション"),
	"th": strings.Fields("ขาย ใหม่ มือสอง ส่งฟรี ราคา กำไล สร้อย แหวน รูปปั้น กล่อง โคมไฟ เก้าอี้ โต๊ะ เคสโทรศัพท์ ชุด เสื้อ รองเท้า กระเป๋า หนัง ไม้ เซรามิก เงิน ทอง ของเก่า"),
}

// flagged holds phrases, one a line, that make a listing worth screening
// closely: products, code words, colour uses and brands.
//
//go:embed flagged.txt
var flaggedText string

func main() {
	n := flag.Int("n", 200000, "listings to write")
	seed := flag.Uint64("seed", 1, "random seed")
	out := flag.String("o", "-", "output file")
	flag.Parse()
	w := os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gencorpus:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	flagged := strings.Split(strings.TrimSpace(flaggedText), "\n")
	rng := rand.New(rand.NewPCG(*seed, 7))
	langs := []string{"en", "en", "en", "zh", "zh", "es", "de", "vi", "ja", "th"}
	bw := bufio.NewWriterSize(w, 1<<20)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	phrase := func(lang string, words int) string {
		v := vocab[lang]
		sep := " "
		if lang == "zh" || lang == "ja" || lang == "th" {
			sep = ""
			if rng.IntN(3) == 0 {
				sep = "，"
			}
		}
		parts := make([]string, words)
		for i := range parts {
			parts[i] = v[rng.IntN(len(v))]
		}
		return strings.Join(parts, sep)
	}
	for i := 0; i < *n; i++ {
		lang := langs[rng.IntN(len(langs))]
		title := phrase(lang, 4+rng.IntN(8))
		desc := phrase(lang, 10+rng.IntN(60))
		if rng.IntN(50) == 0 {
			desc += " " + flagged[rng.IntN(len(flagged))]
		}
		l := map[string]any{
			"id": fmt.Sprintf("B-%07d", i), "kind": "listing", "lang": lang,
			"title": title, "description": desc,
			"price": float64(rng.IntN(100000)) / 100, "currency": "USD",
			"seller": map[string]string{"id": fmt.Sprintf("S-%d", rng.IntN(20000))},
		}
		if err := enc.Encode(l); err != nil {
			fmt.Fprintln(os.Stderr, "gencorpus:", err)
			os.Exit(1)
		}
	}
}
