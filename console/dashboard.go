package console

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wildwarden/wildwarden"
)

// Dashboard window in days: default and bounds.
const (
	defaultDays  = 30
	maxDays      = 366
	baselineDays = 7
)

// dashboardData fills the dashboard.
type dashboardData struct {
	Days                       int
	From, To                   string
	Screened, Blocked, Removed int64
	Automated, Human           int64
	Reports, Upheld            int64
	Shown, Clicked             int64
	ClickRate                  string
	MedianDecision             string
	Decisions                  int
	Charts                     []chart
	Prevalence                 prevalence
	Target                     targetProgress
	Reviewers                  []reviewerCount
}

// chart is one SVG figure with its caption and a table of its numbers
// (for screen readers and for copying).
type chart struct {
	ID, Title, Caption string
	SVG                template.HTML
}

// prevalence is the share of violating listings among randomly sampled
// allowed listings, with a Wilson 95% interval.
type prevalence struct {
	Sampled, Violating  int64
	Estimate, Low, High float64
	SVG                 template.HTML
}

// targetProgress compares violating listings per day with a reduction
// target against a baseline period.
type targetProgress struct {
	Target                     float64
	BaselineFrom, BaselineTo   string
	BaselineMean, TargetPerDay float64
	RecentMean                 float64
	Reduction                  float64
	Met                        bool
	HasBaseline                bool
}

type reviewerCount struct {
	Name string
	N    int64
}

// wilson returns the Wilson score interval for k successes in n trials at
// 95% confidence (z = 1.96): it stays inside [0, 1] and behaves at k = 0,
// where the normal approximation collapses to a point.
func wilson(k, n int64) (low, high float64) {
	if n == 0 {
		return 0, 1
	}
	const z = 1.959963984540054
	p := float64(k) / float64(n)
	nf := float64(n)
	denom := 1 + z*z/nf
	centre := (p + z*z/(2*nf)) / denom
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / denom
	return math.Max(0, centre-half), math.Min(1, centre+half)
}

// median returns the median duration (0 when there is none).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// humanDuration writes a duration for a person: 45s, 12m, 3.5h, 2.1d.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.0fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%.0fm", d.Minutes())
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1fh", d.Hours())
	default:
		return fmt.Sprintf("%.1fd", d.Hours()/24)
	}
}

func (c *Console) handleDashboard(w http.ResponseWriter, r *http.Request, s *session) {
	days := defaultDays
	if v, err := strconv.Atoi(r.URL.Query().Get("days")); err == nil && v > 0 {
		days = min(v, maxDays)
	}
	now := c.now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	from := today.AddDate(0, 0, -(days - 1))
	since := from
	if !c.cfg.BaselineFrom.IsZero() && c.cfg.BaselineFrom.Before(since) {
		since = c.cfg.BaselineFrom
	}
	act, err := c.cfg.Store.Activity(r.Context(), s.TenantID, since)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	var axis []string
	for d := from; !d.After(today); d = d.AddDate(0, 0, 1) {
		axis = append(axis, d.Format("2006-01-02"))
	}
	inWindow := func(day string) bool { return day >= axis[0] }
	d := dashboardData{Days: days, From: axis[0], To: axis[len(axis)-1]}

	// Per day and category.
	cats := map[string]bool{}
	screened, blocked, removed := map[string]map[string]float64{}, map[string]map[string]float64{}, map[string]map[string]float64{}
	add := func(m map[string]map[string]float64, cat, day string, n int64) {
		if m[cat] == nil {
			m[cat] = map[string]float64{}
		}
		m[cat][day] += float64(n)
	}
	for _, cd := range act.ByCategory {
		if !inWindow(cd.Day) {
			continue
		}
		cat := cd.Category
		if cat == "" {
			cat = "none"
		}
		cats[cat] = true
		add(screened, cat, cd.Day, cd.Screened)
		add(blocked, cat, cd.Day, cd.Blocked)
		add(removed, cat, cd.Day, cd.Removed)
	}
	byDay := map[string]wildwarden.ActivityDay{}
	for _, ad := range act.Days {
		byDay[ad.Day] = ad
		if !inWindow(ad.Day) {
			continue
		}
		d.Automated += ad.Automated
		d.Human += ad.Human
		d.Reports += ad.Reports
		d.Upheld += ad.ReportsUpheld
		d.Shown += ad.SearchShown
		d.Clicked += ad.SearchClicked
	}
	var catNames []string
	for cat := range cats {
		catNames = append(catNames, cat)
	}
	sort.Strings(catNames)
	sumOf := func(m map[string]map[string]float64) int64 {
		var t float64
		for _, days := range m {
			for _, n := range days {
				t += n
			}
		}
		return int64(t)
	}
	// A listing counts once in the totals even with two categories: the
	// totals come from the per-day counts where possible.
	d.Screened, d.Blocked, d.Removed = sumOf(screened), sumOf(blocked), sumOf(removed)
	if d.Shown > 0 {
		d.ClickRate = fmt.Sprintf("%.1f%%", 100*float64(d.Clicked)/float64(d.Shown))
	}
	d.Decisions = len(act.DecisionTimes)
	d.MedianDecision = "–"
	if len(act.DecisionTimes) > 0 {
		d.MedianDecision = humanDuration(median(act.DecisionTimes))
	}

	stacked := func(m map[string]map[string]float64) []series {
		var out []series
		for i, cat := range catNames {
			out = append(out, series{Name: cat, Color: palette[i%len(palette)], Values: valuesOn(axis, m[cat])})
		}
		return out
	}
	perDay := func(get func(wildwarden.ActivityDay) int64) []float64 {
		vals := make([]float64, len(axis))
		for i, day := range axis {
			vals[i] = float64(get(byDay[day]))
		}
		return vals
	}
	d.Charts = []chart{
		{ID: "screened", Title: "Listings screened per day", Caption: "by category", SVG: barChart(axis, stacked(screened), "screened listings per day by category")},
		{ID: "blocked", Title: "Blocked automatically per day", Caption: "by category", SVG: barChart(axis, stacked(blocked), "automatically blocked listings per day by category")},
		{ID: "removed", Title: "Removed by reviewers per day", Caption: "by category", SVG: barChart(axis, stacked(removed), "listings removed by reviewers per day by category")},
		{ID: "automation", Title: "Automated and human decisions", Caption: "automated: allow or block without a person; human: reviewer decisions",
			SVG: lineChart(axis, []series{
				{Name: "automated", Color: palette[0], Values: perDay(func(a wildwarden.ActivityDay) int64 { return a.Automated })},
				{Name: "human", Color: palette[1], Values: perDay(func(a wildwarden.ActivityDay) int64 { return a.Human })},
			}, nil, "automated and human decisions per day")},
		{ID: "reports", Title: "User reports", Caption: "received, and upheld by a removal",
			SVG: lineChart(axis, []series{
				{Name: "received", Color: palette[2], Values: perDay(func(a wildwarden.ActivityDay) int64 { return a.Reports })},
				{Name: "upheld", Color: palette[3], Values: perDay(func(a wildwarden.ActivityDay) int64 { return a.ReportsUpheld })},
			}, nil, "user reports received and upheld per day")},
		{ID: "search", Title: "Search warnings", Caption: "shown, and clicked through to the education card",
			SVG: lineChart(axis, []series{
				{Name: "shown", Color: palette[4], Values: perDay(func(a wildwarden.ActivityDay) int64 { return a.SearchShown })},
				{Name: "clicked", Color: palette[5], Values: perDay(func(a wildwarden.ActivityDay) int64 { return a.SearchClicked })},
			}, nil, "search warnings shown and clicked per day")},
	}

	// Reviewer throughput, by name.
	names := map[string]string{}
	if users, err := c.cfg.Store.Users(r.Context(), s.TenantID); err == nil {
		for _, u := range users {
			names[u.ID] = u.Name
		}
	}
	for id, n := range act.Reviewers {
		name := names[id]
		if name == "" {
			name = id
		}
		d.Reviewers = append(d.Reviewers, reviewerCount{Name: name, N: n})
	}
	sort.Slice(d.Reviewers, func(i, j int) bool {
		if d.Reviewers[i].N != d.Reviewers[j].N {
			return d.Reviewers[i].N > d.Reviewers[j].N
		}
		return d.Reviewers[i].Name < d.Reviewers[j].Name
	})
	d.Charts = append(d.Charts, chart{ID: "throughput", Title: "Reviewer throughput", Caption: fmt.Sprintf("decisions in the last %d days", days), SVG: hbarChart(d.Reviewers)})

	// Prevalence from random-sample audits.
	pr := prevalence{Sampled: act.AuditDecided, Violating: act.AuditViolating}
	if pr.Sampled > 0 {
		pr.Estimate = float64(pr.Violating) / float64(pr.Sampled)
	}
	pr.Low, pr.High = wilson(pr.Violating, pr.Sampled)
	pr.SVG = intervalChart(pr.Estimate, pr.Low, pr.High, pr.Sampled > 0)
	d.Prevalence = pr

	// Progress towards the reduction target.
	d.Target = c.targetProgress(axis, byDay)
	violating := perDay(func(a wildwarden.ActivityDay) int64 { return a.Violating })
	var targetLine []float64
	if d.Target.HasBaseline {
		targetLine = make([]float64, len(axis))
		for i := range targetLine {
			targetLine[i] = d.Target.TargetPerDay
		}
	}
	d.Charts = append(d.Charts, chart{ID: "target", Title: "Violating listings against the target",
		Caption: fmt.Sprintf("listings blocked or removed per day; dashed: %.0f%% below the baseline", 100*d.Target.Target),
		SVG:     lineChart(axis, []series{{Name: "violating", Color: palette[6], Values: violating}}, targetLine, "violating listings per day against the reduction target")})
	c.render(w, http.StatusOK, "dashboard", &page{Title: "Dashboard", Session: s, Nav: "dashboard", Data: d})
}

// targetProgress measures the last seven days against the baseline.
func (c *Console) targetProgress(axis []string, byDay map[string]wildwarden.ActivityDay) targetProgress {
	t := targetProgress{Target: c.cfg.ReductionTarget}
	var from, to string
	if !c.cfg.BaselineFrom.IsZero() && !c.cfg.BaselineTo.IsZero() {
		from, to = c.cfg.BaselineFrom.UTC().Format("2006-01-02"), c.cfg.BaselineTo.UTC().Format("2006-01-02")
	} else {
		// The first seven days with screenings in the window.
		first := 0
		for first < len(axis)-1 && byDay[axis[first]].Automated == 0 && byDay[axis[first]].Violating == 0 {
			first++
		}
		from, to = axis[first], axis[min(first+baselineDays, len(axis))-1]
	}
	t.BaselineFrom, t.BaselineTo = from, to
	start, err1 := time.Parse("2006-01-02", from)
	end, err2 := time.Parse("2006-01-02", to)
	if err1 != nil || err2 != nil || end.Before(start) {
		return t
	}
	var sum float64
	n := 0
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		sum += float64(byDay[d.Format("2006-01-02")].Violating)
		n++
	}
	t.BaselineMean = sum / float64(n)
	t.HasBaseline = t.BaselineMean > 0
	t.TargetPerDay = t.BaselineMean * (1 - t.Target)
	recent := axis[max(0, len(axis)-baselineDays):]
	sum = 0
	for _, day := range recent {
		sum += float64(byDay[day].Violating)
	}
	t.RecentMean = sum / float64(len(recent))
	if t.HasBaseline {
		t.Reduction = 1 - t.RecentMean/t.BaselineMean
		t.Met = t.RecentMean <= t.TargetPerDay
	}
	return t
}

// palette has colours that stay apart for common colour blindness (Okabe
// and Ito) and read on white.
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"}

// series is one named line or bar stack layer.
type series struct {
	Name   string
	Color  string
	Values []float64
}

func valuesOn(axis []string, m map[string]float64) []float64 {
	out := make([]float64, len(axis))
	for i, day := range axis {
		out[i] = m[day]
	}
	return out
}

// Chart geometry in SVG user units; the SVG scales to its box.
const (
	chartW, chartH         = 640, 220
	padL, padR, padT, padB = 44, 12, 12, 40
)

// niceMax returns the top of a count axis with four grid steps: four
// times the smallest step of 1, 2 or 5 times a power of ten (at least 1)
// that covers v, so ticks are whole numbers.
func niceMax(v float64) float64 {
	step := 1.0
	for p := 1.0; step*4 < v; p *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if step = m * p; step*4 >= v {
				break
			}
		}
	}
	return 4 * step
}

// esc escapes text for SVG (the same rules as HTML).
func esc(s string) string { return template.HTMLEscapeString(s) }

// frame draws the axes, grid and labels and returns the y scale.
func frame(b *strings.Builder, axis []string, top float64, label string) func(float64) float64 {
	fmt.Fprintf(b, `<svg viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg" class="chart">`, chartW, chartH, esc(label))
	plotH := float64(chartH - padT - padB)
	y := func(v float64) float64 { return float64(padT) + plotH*(1-v/top) }
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>`, padL, chartW-padR, y(v), y(v))
		fmt.Fprintf(b, `<text x="%d" y="%.1f" class="tick" text-anchor="end">%s</text>`, padL-6, y(v)+4, strconv.FormatFloat(v, 'f', -1, 64))
	}
	step := max(1, len(axis)/6)
	plotW := float64(chartW - padL - padR)
	for i := 0; i < len(axis); i += step {
		x := float64(padL) + plotW*(float64(i)+0.5)/float64(len(axis))
		fmt.Fprintf(b, `<text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, x, chartH-padB+16, esc(axis[i][5:]))
	}
	return y
}

// legend writes the series names under the chart.
func legend(b *strings.Builder, ss []series, dashed string) {
	x := padL
	for _, s := range ss {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" class="legend">%s</text>`, x, chartH-14, s.Color, x+14, chartH-5, esc(s.Name))
		x += 24 + 7*len(s.Name)
	}
	if dashed != "" {
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" class="target"/><text x="%d" y="%d" class="legend">%s</text>`, x, x+18, chartH-9, chartH-9, x+22, chartH-5, esc(dashed))
	}
}

// barChart draws stacked bars per day.
func barChart(axis []string, ss []series, label string) template.HTML {
	var b strings.Builder
	top := 0.0
	for i := range axis {
		sum := 0.0
		for _, s := range ss {
			sum += s.Values[i]
		}
		top = math.Max(top, sum)
	}
	top = niceMax(top)
	y := frame(&b, axis, top, label)
	plotW := float64(chartW - padL - padR)
	bw := plotW / float64(len(axis))
	for i, day := range axis {
		base := 0.0
		for _, s := range ss {
			v := s.Values[i]
			if v == 0 {
				continue
			}
			x := float64(padL) + bw*float64(i) + bw*0.15
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				x, y(base+v), bw*0.7, y(base)-y(base+v), s.Color, esc(day), esc(s.Name), strconv.FormatFloat(v, 'f', -1, 64))
			base += v
		}
	}
	if len(ss) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="empty" text-anchor="middle">no data in this period</text>`, chartW/2, chartH/2)
	}
	legend(&b, ss, "")
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// lineChart draws one polyline per series, and a dashed horizontal target
// when target is not nil.
func lineChart(axis []string, ss []series, target []float64, label string) template.HTML {
	var b strings.Builder
	top := 0.0
	for _, s := range ss {
		for _, v := range s.Values {
			top = math.Max(top, v)
		}
	}
	for _, v := range target {
		top = math.Max(top, v)
	}
	top = niceMax(top)
	y := frame(&b, axis, top, label)
	plotW := float64(chartW - padL - padR)
	x := func(i int) float64 { return float64(padL) + plotW*(float64(i)+0.5)/float64(len(axis)) }
	if target != nil {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="target"><title>target: %.1f per day</title></line>`, padL, chartW-padR, y(target[0]), y(target[0]), target[0])
	}
	for _, s := range ss {
		var pts []string
		for i, v := range s.Values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(pts, " "), s.Color)
		for i, v := range s.Values {
			if v > 0 {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s %s: %s</title></circle>`, x(i), y(v), s.Color, esc(axis[i]), esc(s.Name), strconv.FormatFloat(v, 'f', -1, 64))
			}
		}
	}
	dashed := ""
	if target != nil {
		dashed = "target"
	}
	legend(&b, ss, dashed)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// hbarChart draws decisions per reviewer as horizontal bars.
func hbarChart(rs []reviewerCount) template.HTML {
	var b strings.Builder
	rowH := 22
	h := max(1, len(rs))*rowH + 10
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="decisions per reviewer" xmlns="http://www.w3.org/2000/svg" class="chart">`, chartW, h)
	if len(rs) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="16" class="empty" text-anchor="middle">no decisions in this period</text></svg>`, chartW/2)
		return template.HTML(b.String())
	}
	top := niceMax(float64(rs[0].N))
	labelW := 140.0
	plotW := float64(chartW) - labelW - 50
	for i, r := range rs {
		yy := 5 + i*rowH
		w := plotW * float64(r.N) / top
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" class="tick" text-anchor="end">%s</text>`, labelW-6, yy+14, esc(r.Name))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%d" width="%.1f" height="%d" fill="%s"/>`, labelW, yy+2, w, rowH-6, palette[0])
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tick">%d</text>`, labelW+w+4, yy+14, r.N)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// intervalChart draws an estimate with its interval on a 0–100% scale.
func intervalChart(est, low, high float64, has bool) template.HTML {
	var b strings.Builder
	const w, h, l, r = 640, 56, 20, 20
	x := func(v float64) float64 { return l + (w-l-r)*v }
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="prevalence estimate with 95%% confidence interval" xmlns="http://www.w3.org/2000/svg" class="chart">`, w, h)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="20" y2="20" class="grid"/>`, l, w-r)
	for _, v := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, `<text x="%.1f" y="48" class="tick" text-anchor="middle">%.0f%%</text>`, x(v), 100*v)
	}
	if has {
		fmt.Fprintf(&b, `<rect x="%.1f" y="12" width="%.1f" height="16" class="ci"><title>95%% interval %.1f%%–%.1f%%</title></rect>`, x(low), math.Max(1, x(high)-x(low)), 100*low, 100*high)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="20" r="5" fill="%s"><title>estimate %.1f%%</title></circle>`, x(est), palette[1], 100*est)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
