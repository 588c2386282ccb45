// Package cost estimates what a Terraform plan costs a month on AWS: every managed resource
// of `terraform show -json` is looked up in a price table kept in the repository as data
// (prices.json: the price, its unit, the AWS pricing page and when it was read), fixed
// costs are charged for a 730-hour month, and usage costs come from stated Assumptions.
// A resource type the table does not know is reported as not priced, never as zero.
//
// It also models the audit pipeline (EventBridge, Lambda, DynamoDB, SNS) as the number of
// CloudTrail events grows (AuditVolume) and draws it (PlotAuditVolume).
package cost

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// HoursPerMonth is the month AWS's pricing examples use (365 * 24 / 12).
const HoursPerMonth = 730.0

//go:embed prices.json
var pricesJSON []byte

// Pricing says how a resource type is charged.
type Pricing string

// The kinds of pricing a type can have in the table.
const (
	PricingFixed Pricing = "fixed" // charged for existing, whatever the traffic
	PricingUsage Pricing = "usage" // charged by use; priced from the Assumptions
	PricingFree  Pricing = "free"  // no charge of its own
)

// Price is one line of the price table.
type Price struct {
	Key     string  `json:"key"`
	USD     float64 `json:"usd"`
	Unit    string  `json:"unit"`
	Page    string  `json:"page"`
	AsOf    string  `json:"as_of"`
	Recheck bool    `json:"recheck"`
}

// TypeEntry says how one Terraform resource type is priced.
type TypeEntry struct {
	Type    string   `json:"type"`
	Pricing Pricing  `json:"pricing"`
	Prices  []string `json:"prices,omitempty"` // price keys; "prefix:*" names a family
	Why     string   `json:"why,omitempty"`    // for free types: why nothing is charged
	Note    string   `json:"note,omitempty"`
}

// Table is the price table: prices by key and resource types by name.
type Table struct {
	About  string      `json:"about"`
	Region string      `json:"region"`
	List   []Price     `json:"prices"`
	Types  []TypeEntry `json:"types"`

	prices map[string]Price
	types  map[string]TypeEntry
}

// ErrNoPrice is returned when the table has no price for a key.
var ErrNoPrice = errors.New("no price in the table")

// DefaultTable returns the table embedded from prices.json.
func DefaultTable() (*Table, error) { return ParseTable(pricesJSON) }

// ParseTable reads and checks a price table: unique keys, non-negative prices with a unit,
// a page and a date, every type with a known pricing whose price keys exist, free types
// with a reason.
func ParseTable(b []byte) (*Table, error) {
	var t Table
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("price table: %w", err)
	}
	if t.Region == "" {
		return nil, errors.New("price table: region is empty")
	}
	t.prices = make(map[string]Price, len(t.List))
	for _, p := range t.List {
		switch {
		case p.Key == "":
			return nil, errors.New("price table: a price has no key")
		case p.USD < 0:
			return nil, fmt.Errorf("price table: %s: negative price", p.Key)
		case p.Unit == "" || p.AsOf == "" || !strings.HasPrefix(p.Page, "https://aws.amazon.com/"):
			return nil, fmt.Errorf("price table: %s: unit, as_of and an https://aws.amazon.com/ page are required", p.Key)
		}
		if _, dup := t.prices[p.Key]; dup {
			return nil, fmt.Errorf("price table: %s: listed twice", p.Key)
		}
		t.prices[p.Key] = p
	}
	t.types = make(map[string]TypeEntry, len(t.Types))
	for _, e := range t.Types {
		if _, dup := t.types[e.Type]; dup {
			return nil, fmt.Errorf("price table: type %s: listed twice", e.Type)
		}
		switch e.Pricing {
		case PricingFree:
			if e.Why == "" || len(e.Prices) > 0 {
				return nil, fmt.Errorf("price table: free type %s needs a why and no prices", e.Type)
			}
		case PricingFixed, PricingUsage:
			if len(e.Prices) == 0 {
				return nil, fmt.Errorf("price table: type %s: no prices", e.Type)
			}
			for _, k := range e.Prices {
				if !t.hasKey(k) {
					return nil, fmt.Errorf("price table: type %s: price %s is not in the table", e.Type, k)
				}
			}
		default:
			return nil, fmt.Errorf("price table: type %s: pricing %q is not fixed, usage or free", e.Type, e.Pricing)
		}
		t.types[e.Type] = e
	}
	return &t, nil
}

func (t *Table) hasKey(k string) bool {
	if prefix, ok := strings.CutSuffix(k, "*"); ok {
		for key := range t.prices {
			if strings.HasPrefix(key, prefix) {
				return true
			}
		}
		return false
	}
	_, ok := t.prices[k]
	return ok
}

// USD returns the price of key, or an error wrapping ErrNoPrice.
func (t *Table) USD(key string) (float64, error) {
	p, ok := t.prices[key]
	if !ok {
		return 0, fmt.Errorf("%s: %w", key, ErrNoPrice)
	}
	return p.USD, nil
}

// Type returns how a resource type is priced, and whether the table knows it.
func (t *Table) Type(name string) (TypeEntry, bool) {
	e, ok := t.types[name]
	return e, ok
}

// Keys returns every price key, sorted.
func (t *Table) Keys() []string {
	keys := make([]string, 0, len(t.prices))
	for k := range t.prices {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
