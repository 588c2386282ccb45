package cost

import (
	"fmt"
	"reflect"
	"strings"
)

// Environments are the roots whose tables envs/README.md carries, in order.
var Environments = []string{"dev", "stage", "prod"}

// Variant is a plan of dev with some values changed, for the README's table of savings.
type Variant struct {
	Name string // plan-<Name>.json
	What string
}

// DevVariants are the plans beside dev's own (scripts/cost-plan.sh writes them).
var DevVariants = []Variant{
	{"dev", "dev as configured: public task addresses, no load balancer, one endpoint zone"},
	{"dev-before", "dev before the cheap-dev switches: four interface endpoints in two zones, load balancer, Container Insights"},
	{"dev-nat", "dev with one NAT gateway instead of public task addresses and the endpoint"},
	{"dev-ecsdb", "dev with PostgreSQL as a Fargate task on EFS instead of RDS"},
}

// AuditVolumes are the CloudTrail volumes of the README's audit table and plot.
var AuditVolumes = []float64{1e6, 1e7, 1e8}

// Readme regenerates the cost sections of envs/README.md: one table per environment from
// its plan, the assumptions of each side by side, and the audit pipeline's table.
func Readme(doc []byte, t *Table, plans map[string]*Plan, assumptions []byte) ([]byte, error) {
	sets := map[string]Assumptions{}
	for _, env := range Environments {
		a, err := ForEnvironment(assumptions, env)
		if err != nil {
			return nil, err
		}
		sets[env] = a
		p, ok := plans[env]
		if !ok {
			return nil, fmt.Errorf("readme: no plan for %s", env)
		}
		r, err := Estimate(t, p, a)
		if err != nil {
			return nil, fmt.Errorf("readme: %s: %w", env, err)
		}
		if doc, err = ReplaceSection(doc, env, r.Markdown()); err != nil {
			return nil, err
		}
	}
	opts, err := devOptionsMarkdown(t, plans, sets["dev"])
	if err != nil {
		return nil, err
	}
	if doc, err = ReplaceSection(doc, "dev-options", opts); err != nil {
		return nil, err
	}
	doc, err = ReplaceSection(doc, "assumptions", assumptionsMarkdown(sets))
	if err != nil {
		return nil, err
	}
	a, err := ForEnvironment(assumptions, "")
	if err != nil {
		return nil, err
	}
	rows, err := AuditVolume(t, a, DefaultAuditParams(), AuditVolumes)
	if err != nil {
		return nil, err
	}
	return ReplaceSection(doc, "audit", AuditMarkdown(rows))
}

func assumptionsMarkdown(sets map[string]Assumptions) string {
	var b strings.Builder
	b.WriteString("| Assumption | " + strings.Join(Environments, " | ") + " |\n|---|" + strings.Repeat("--:|", len(Environments)) + "\n")
	typ := reflect.TypeOf(Assumptions{})
	for i := 0; i < typ.NumField(); i++ {
		name := strings.Split(typ.Field(i).Tag.Get("json"), ",")[0]
		b.WriteString("| `" + name + "` |")
		for _, env := range Environments {
			v := reflect.ValueOf(sets[env]).Field(i).Interface()
			if f, ok := v.(float64); ok {
				v = fnum(f)
			}
			fmt.Fprintf(&b, " %v |", v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func devOptionsMarkdown(t *Table, plans map[string]*Plan, a Assumptions) (string, error) {
	var b strings.Builder
	b.WriteString("| Plan | What | fixed before the database | database (fixed) | fixed | usage | total |\n|---|---|--:|--:|--:|--:|--:|\n")
	for _, v := range DevVariants {
		p, ok := plans[v.Name]
		if !ok {
			return "", fmt.Errorf("readme: no plan for %s (scripts/cost-plan.sh %s)", v.Name, v.Name)
		}
		r, err := Estimate(t, p, a)
		if err != nil {
			return "", fmt.Errorf("readme: %s: %w", v.Name, err)
		}
		if np := r.NotPriced(); len(np) > 0 {
			return "", fmt.Errorf("readme: %s: %s not priced: %s", v.Name, np[0].Address, np[0].Reason)
		}
		fixed := r.Total(KindFixed)
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s |\n", v.Name, v.What,
			money(r.FixedBeforeDatabase()), money(fixed-r.FixedBeforeDatabase()), money(fixed), money(r.Total(KindUsage)), money(r.Total("")))
	}
	return b.String(), nil
}
