package cost

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// DatabaseModule is the module whose resources are "the database" in FixedBeforeDatabase.
const DatabaseModule = "module.rotaudit.module.database"

// FixedBeforeDatabase is the fixed monthly cost without the database module's resources:
// the figure dev's budget is about, since the database option is chosen on its own.
func (r *Report) FixedBeforeDatabase() float64 {
	var s float64
	for _, l := range r.Lines {
		if l.Kind == KindFixed && !inModule(l.Address, DatabaseModule) {
			s += l.USD()
		}
	}
	return s
}

func inModule(addr, module string) bool {
	return strings.HasPrefix(addr, module+".") || strings.HasPrefix(addr, module+"[")
}

// priced returns the lines that cost something, dearest first (address breaks ties).
func (r *Report) priced() []Line {
	var out []Line
	for _, l := range r.Lines {
		if (l.Kind == KindFixed || l.Kind == KindUsage) && round2(l.USD()) > 0 {
			out = append(out, l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := round2(out[i].USD()), round2(out[j].USD())
		if a != b {
			return a > b
		}
		return out[i].Address < out[j].Address
	})
	return out
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

func money(f float64) string { return "$" + addThousands2(fmt.Sprintf("%.2f", f)) }

func addThousands2(s string) string {
	whole, frac, _ := strings.Cut(s, ".")
	return addThousands(whole) + "." + frac
}

// freeTypes returns the free resource types of the report with their counts.
func (r *Report) freeTypes() string {
	counts := map[string]int{}
	for _, l := range r.Lines {
		if l.Kind == KindFree || (l.Kind != KindNotPriced && round2(l.USD()) == 0) {
			counts[l.Type]++
		}
	}
	names := make([]string, 0, len(counts))
	for t := range counts {
		names = append(names, t)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, t := range names {
		parts[i] = fmt.Sprintf("%s x%d", t, counts[t])
	}
	return strings.Join(parts, ", ")
}

// WriteText prints the report for a terminal: one line per charged resource with how its
// cost was computed, the totals, the free resources and, loudly, what was not priced.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "Monthly estimate for %s (plan region %s, %s list prices; see the price table's notes)\n\n",
		orDash(r.Environment), orDash(r.PlanRegion), r.PriceRegion)
	for _, l := range r.priced() {
		fmt.Fprintf(tw, "%s\t  %s\t%s\t\n", money(l.USD()), l.Kind, l.Address)
		for _, it := range l.Items {
			if round2(it.USD) > 0 {
				fmt.Fprintf(tw, "\t\t    %s = %s\t\n", it.What, money(it.USD))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nfixed  %s a month (%s before the database)\n", money(r.Total(KindFixed)), money(r.FixedBeforeDatabase()))
	fmt.Fprintf(w, "usage  %s a month (assumptions below)\n", money(r.Total(KindUsage)))
	fmt.Fprintf(w, "total  %s a month\n", money(r.Total("")))
	fmt.Fprintf(w, "\nfree or nothing charged: %s\n", r.freeTypes())
	if np := r.NotPriced(); len(np) > 0 {
		fmt.Fprintf(w, "\nNOT PRICED (%d resources, missing from the totals):\n", len(np))
		for _, l := range np {
			fmt.Fprintf(w, "  %s (%s): %s\n", l.Address, l.Type, l.Reason)
		}
	}
	fmt.Fprintf(w, "\nassumptions:\n  %s\n", strings.Join(r.Assumptions.Describe(), "\n  "))
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Markdown renders the report as the table of one environment in envs/README.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString("| Resource | How | $/month |\n|---|---|--:|\n")
	for _, l := range r.priced() {
		var how []string
		for _, it := range l.Items {
			if round2(it.USD) > 0 {
				how = append(how, it.What)
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", l.Address, strings.Join(how, "; "), money(l.USD()))
	}
	fmt.Fprintf(&b, "| **fixed** | charged whatever the traffic | **%s** |\n", money(r.Total(KindFixed)))
	fmt.Fprintf(&b, "| **fixed before the database** | fixed, without `%s` | **%s** |\n", DatabaseModule, money(r.FixedBeforeDatabase()))
	fmt.Fprintf(&b, "| **usage** | from the assumptions | **%s** |\n", money(r.Total(KindUsage)))
	fmt.Fprintf(&b, "| **total** | | **%s** |\n", money(r.Total("")))
	fmt.Fprintf(&b, "\nFree or nothing charged: %s.\n", r.freeTypes())
	if np := r.NotPriced(); len(np) > 0 {
		fmt.Fprintf(&b, "\n**Not priced** (missing from the totals):\n\n")
		for _, l := range np {
			fmt.Fprintf(&b, "- `%s` (%s): %s\n", l.Address, l.Type, l.Reason)
		}
	} else {
		b.WriteString("\nNot priced: none.\n")
	}
	return b.String()
}
