// Command gendata writes the project's own labelled training set
// (classify/traindata/train.jsonl) by expanding the hand-written templates
// of seeds.tsv with a seeded random generator, so the set is reproducible
// and reviewable as text.
//
//	go run ./classify/internal/gendata -seeds classify/internal/gendata/seeds.tsv -o classify/traindata/train.jsonl
//
// seeds.tsv has two kinds of line (tab-separated, # comments):
//
//	@slot	value|value|…                      a slot: a template's {slot} picks one value
//	label	lang	kind	category	evasion	n	title	description	seller
//
// A template line is expanded into n listings. Values may hold slots
// themselves. {#price}, {#n}, {#year} and {#size} write random numbers.
// "-" leaves a field empty. Each listing records its template's line as
// "group", so that training holds whole templates out when it calibrates.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
)

type template struct {
	line                                 int
	label, lang, kind, category, evasion string
	n                                    int
	title, description, seller           string
}

type record struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	Lang        string   `json:"lang"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Price       *float64 `json:"price,omitempty"`
	Currency    string   `json:"currency,omitempty"`
	Seller      *seller  `json:"seller,omitempty"`
	Label       string   `json:"label"`
	Category    string   `json:"category"`
	Evasion     string   `json:"evasion"`
	Group       string   `json:"group"`
}

type seller struct {
	Description string `json:"description"`
}

var slotRE = regexp.MustCompile(`\{([#A-Za-z0-9_.\-]+)\}`)

func main() {
	seedsPath := flag.String("seeds", "classify/internal/gendata/seeds.tsv", "template file")
	out := flag.String("o", "classify/traindata/train.jsonl", "output JSONL")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := run(*seedsPath, *out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gendata:", err)
		os.Exit(1)
	}
}

func run(seedsPath, outPath string, seed uint64) error {
	f, err := os.Open(seedsPath)
	if err != nil {
		return err
	}
	defer f.Close()
	slots := map[string][]string{}
	var templates []template
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cols := strings.Split(text, "\t")
		if strings.HasPrefix(cols[0], "@") {
			if len(cols) != 2 {
				return fmt.Errorf("%s:%d: a slot line has 2 columns, not %d", seedsPath, line, len(cols))
			}
			for _, v := range strings.Split(cols[1], "|") {
				slots[cols[0][1:]] = append(slots[cols[0][1:]], strings.TrimSpace(v))
			}
			continue
		}
		if len(cols) < 7 || len(cols) > 9 {
			return fmt.Errorf("%s:%d: a template line has 7 to 9 columns, not %d", seedsPath, line, len(cols))
		}
		for len(cols) < 9 {
			cols = append(cols, "-")
		}
		n, err := strconv.Atoi(cols[5])
		if err != nil {
			return fmt.Errorf("%s:%d: count %q: %w", seedsPath, line, cols[5], err)
		}
		if cols[0] != "positive" && cols[0] != "negative" {
			return fmt.Errorf("%s:%d: label %q is not positive or negative", seedsPath, line, cols[0])
		}
		templates = append(templates, template{line, cols[0], cols[1], cols[2], cols[3], cols[4], n, cols[6], cols[7], cols[8]})
	}
	if err := sc.Err(); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0x7a11))
	var expand func(s string, depth int) (string, error)
	expand = func(s string, depth int) (string, error) {
		if s == "-" {
			return "", nil
		}
		var err error
		out := slotRE.ReplaceAllStringFunc(s, func(m string) string {
			name := m[1 : len(m)-1]
			switch name {
			case "#price":
				return formatPrice(rng)
			case "#n":
				return strconv.Itoa(2 + rng.IntN(60))
			case "#year":
				return strconv.Itoa(1750 + rng.IntN(240))
			case "#size":
				return strconv.Itoa(3 + rng.IntN(40))
			}
			vals, ok := slots[name]
			if !ok {
				err = fmt.Errorf("unknown slot {%s}", name)
				return m
			}
			if depth > 6 {
				err = fmt.Errorf("slot {%s} nests too deep", name)
				return m
			}
			pick := vals[rng.IntN(len(vals))]
			if pick == "-" {
				return ""
			}
			v, e := expand(pick, depth+1)
			if e != nil {
				err = e
			}
			return v
		})
		return strings.Join(strings.Fields(out), " "), err
	}
	w, err := os.Create(outPath)
	if err != nil {
		return err
	}
	defer w.Close()
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	seen := map[string]bool{}
	id := 0
	for _, t := range templates {
		made := 0
		for try := 0; made < t.n && try < t.n*5; try++ {
			title, err1 := expand(t.title, 0)
			desc, err2 := expand(t.description, 0)
			sell, err3 := expand(t.seller, 0)
			for _, e := range []error{err1, err2, err3} {
				if e != nil {
					return fmt.Errorf("%s:%d: %w", seedsPath, t.line, e)
				}
			}
			key := title + "\x00" + desc + "\x00" + sell
			if seen[key] || (title == "" && desc == "") {
				continue
			}
			seen[key] = true
			made++
			id++
			r := record{ID: fmt.Sprintf("own-%05d", id), Kind: t.kind, Lang: t.lang, Title: title, Description: desc,
				Label: t.label, Category: t.category, Evasion: t.evasion, Group: fmt.Sprintf("seeds:%d", t.line)}
			if sell != "" {
				r.Seller = &seller{Description: sell}
			}
			// Prices on half the listings of both classes, so that a price
			// alone says nothing.
			if t.kind == "listing" && rng.IntN(2) == 0 {
				p := float64(5 + rng.IntN(5000))
				r.Price = &p
				r.Currency = currencyOf(t.lang)
			}
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

func formatPrice(rng *rand.Rand) string {
	v := (1 + rng.IntN(400)) * []int{1, 5, 10, 50, 100}[rng.IntN(5)]
	return strconv.Itoa(v)
}

func currencyOf(lang string) string {
	switch lang {
	case "zh-Hans":
		return "CNY"
	case "zh-Hant":
		return "HKD"
	case "ja":
		return "JPY"
	case "vi":
		return "VND"
	case "th":
		return "THB"
	case "id":
		return "IDR"
	case "ms":
		return "MYR"
	case "fr", "de", "es", "pt":
		return "EUR"
	}
	return "USD"
}
