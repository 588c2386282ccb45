package ratesdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// Region is one row of regions: a node of the region tree.
type Region struct {
	Slug, Name string
	// Parent is "" for a root region.
	Parent string
}

// Port is one row of ports; Region is its parent_slug.
type Port struct {
	Code, Name, Region string
}

// Price is one row of prices.
type Price struct {
	Orig, Dest string
	Day        time.Time
	Price      int32
}

// Data is a complete data set for the three tables.
type Data struct {
	Regions []Region
	Ports   []Port
	Prices  []Price
}

// DemoOptions sizes the generated demo data.
type DemoOptions struct {
	// Seed makes the data reproducible: the same seed gives the same rows.
	Seed uint64
	// From is the first day with prices; Days how many consecutive days follow.
	From time.Time
	Days int
	// RoutesPerOrigin is how many destinations each port has prices to.
	RoutesPerOrigin int
}

// DefaultDemo is what `make up` loads: the reference dump's month, about 40,000 price rows,
// generated and copied in well under a second.
var DefaultDemo = DemoOptions{Seed: 20210101, From: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), Days: 31, RoutesPerOrigin: 12}

// The region tree and the ports in it. Codes are UN/LOCODEs of real ports; everything
// else the generator makes up.
var demoRegions = []Region{
	{"northern_europe", "Northern Europe", ""},
	{"scandinavia", "Scandinavia", "northern_europe"},
	{"baltic", "Baltic", "northern_europe"},
	{"norway_south_east", "Norway South East", "scandinavia"},
	{"stockholm_area", "Stockholm Area", "scandinavia"},
	{"baltic_main", "Baltic Main", "baltic"},
	{"finland_main", "Finland Main", "baltic"},
	{"north_europe_main", "North Europe Main", "northern_europe"},
	{"uk_main", "UK Main", "north_europe_main"},
	{"china_main", "China Main", ""},
	{"china_east_main", "China East Main", "china_main"},
	{"china_south_main", "China South Main", "china_main"},
	{"china_north_main", "China North Main", "china_main"},
}

var demoPorts = []Port{
	{"NOOSL", "Oslo", "norway_south_east"},
	{"NOFRK", "Fredrikstad", "norway_south_east"},
	{"SESTO", "Stockholm", "stockholm_area"},
	{"SENYN", "Nynashamn", "stockholm_area"},
	{"EETLL", "Tallinn", "baltic_main"},
	{"LVRIX", "Riga", "baltic_main"},
	{"LTKLJ", "Klaipeda", "baltic_main"},
	{"FIHEL", "Helsinki", "finland_main"},
	{"FIKTK", "Kotka", "finland_main"},
	{"NLRTM", "Rotterdam", "north_europe_main"},
	{"DEHAM", "Hamburg", "north_europe_main"},
	{"BEANR", "Antwerp", "north_europe_main"},
	{"GBFXT", "Felixstowe", "uk_main"},
	{"GBSOU", "Southampton", "uk_main"},
	{"CNSGH", "Shanghai", "china_east_main"},
	{"CNNGB", "Ningbo", "china_east_main"},
	{"CNGGZ", "Guangzhou", "china_south_main"},
	{"CNYTN", "Yantian", "china_south_main"},
	{"CNSHK", "Shekou", "china_south_main"},
	{"CNTXG", "Tianjin", "china_north_main"},
	{"CNDLC", "Dalian", "china_north_main"},
	{"CNQDG", "Qingdao", "china_north_main"},
}

// Demo generates the demo data set. Per route and day the number of prices varies so that
// every case of the API shows: no prices (count null), one or two (price null) and three
// or more (an average). The route CNGGZ to EETLL, the reference README's example, always
// has prices.
func Demo(o DemoOptions) (Data, error) {
	if o.Days <= 0 || o.Days > 3660 {
		return Data{}, fmt.Errorf("demo data: days %d out of range 1-3660", o.Days)
	}
	if o.RoutesPerOrigin <= 0 || o.RoutesPerOrigin >= len(demoPorts) {
		return Data{}, fmt.Errorf("demo data: routes per origin %d out of range 1-%d", o.RoutesPerOrigin, len(demoPorts)-1)
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	d := Data{Regions: append([]Region(nil), demoRegions...), Ports: append([]Port(nil), demoPorts...)}
	from := time.Date(o.From.Year(), o.From.Month(), o.From.Day(), 0, 0, 0, 0, time.UTC)
	for i, orig := range demoPorts {
		dests := rng.Perm(len(demoPorts))
		picked := 0
		for _, j := range dests {
			if picked == o.RoutesPerOrigin {
				break
			}
			if j == i {
				continue
			}
			picked++
			dest := demoPorts[j]
			d.Prices = append(d.Prices, routePrices(rng, orig.Code, dest.Code, from, o.Days, false)...)
		}
	}
	d.Prices = append(d.Prices, routePrices(rng, "CNGGZ", "EETLL", from, o.Days, true)...)
	return d, nil
}

// routePrices draws the prices of one route. A route has a base price; each day's quotes
// scatter around it. always keeps at least three quotes on every day.
func routePrices(rng *rand.Rand, orig, dest string, from time.Time, days int, always bool) []Price {
	base := 400 + rng.IntN(2400)
	var out []Price
	for k := range days {
		n := 0
		switch r := rng.IntN(100); {
		case r < 10:
			n = 0
		case r < 25:
			n = 1 + rng.IntN(2)
		default:
			n = 3 + rng.IntN(6)
		}
		if always && n < 3 {
			n = 3
		}
		day := from.AddDate(0, 0, k)
		for range n {
			out = append(out, Price{Orig: orig, Dest: dest, Day: day, Price: int32(base + rng.IntN(base/4+1) - base/8)})
		}
	}
	return out
}

// Load copies a data set into the three tables, which must exist (see Migrate) and are
// emptied first, in one transaction.
func Load(ctx context.Context, conn Querier, d Data) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "TRUNCATE prices, ports, regions"); err != nil {
			return fmt.Errorf("load: truncate: %w", err)
		}
		// Parents before children, for the foreign key.
		regions := make([][]any, 0, len(d.Regions))
		for _, r := range d.Regions {
			var parent any
			if r.Parent != "" {
				parent = r.Parent
			}
			regions = append(regions, []any{r.Slug, r.Name, parent})
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"regions"}, []string{"slug", "name", "parent_slug"}, pgx.CopyFromRows(regions)); err != nil {
			return fmt.Errorf("load: regions: %w", err)
		}
		ports := make([][]any, 0, len(d.Ports))
		for _, p := range d.Ports {
			ports = append(ports, []any{p.Code, p.Name, p.Region})
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ports"}, []string{"code", "name", "parent_slug"}, pgx.CopyFromRows(ports)); err != nil {
			return fmt.Errorf("load: ports: %w", err)
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"prices"}, []string{"orig_code", "dest_code", "day", "price"},
			pgx.CopyFromSlice(len(d.Prices), func(i int) ([]any, error) {
				p := d.Prices[i]
				return []any{p.Orig, p.Dest, p.Day, p.Price}, nil
			}))
		if err != nil {
			return fmt.Errorf("load: prices: %w", err)
		}
		if _, err := tx.Exec(ctx, "ANALYZE regions, ports, prices"); err != nil {
			return fmt.Errorf("load: analyze: %w", err)
		}
		return nil
	})
}
