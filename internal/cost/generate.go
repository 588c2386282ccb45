package cost

import (
	"fmt"
	"reflect"
	"strings"
)

// Environments are the roots whose tables envs/README.md carries, in order.
var Environments = []string{"dev", "stage", "prod"}

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
	doc, err := ReplaceSection(doc, "assumptions", assumptionsMarkdown(sets))
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
