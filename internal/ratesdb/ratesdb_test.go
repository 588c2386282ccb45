package ratesdb

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestScanDump(t *testing.T) {
	f, err := os.Open("testdata/small.sql")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stmts, copies int
	var rows int
	err = ScanDump(f, func(it DumpItem) error {
		if it.Copy != nil {
			copies++
			rows += strings.Count(string(it.Copy), "\n")
		} else {
			stmts++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 3 SET/SELECT, 3 CREATE TABLE, 3 ALTER TABLE; 3 COPY blocks holding 2+4+3 rows.
	if stmts != 9 || copies != 3 || rows != 9 {
		t.Fatalf("%d statements, %d copies, %d rows", stmts, copies, rows)
	}
}

func TestScanDumpRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unterminated statement", "CREATE TABLE x (a int)\n", "does not end with ;"},
		{"unterminated copy", "COPY public.x (a) FROM stdin;\n1\n2\n", "no terminating"},
		{"meta-command", "\\connect other\n", `meta-command "\\connect"`},
		{"shell escape", "\\! rm -rf /\n", "meta-command"},
		{"long line", strings.Repeat("x", maxDumpLine+1) + ";\n", "token too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ScanDump(strings.NewReader(tt.in), func(DumpItem) error { return nil })
			if !errors.Is(err, ErrDump) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrDump containing %q", err, tt.want)
			}
		})
	}
}

func FuzzScanDump(f *testing.F) {
	b, err := os.ReadFile("testdata/small.sql")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
	f.Add("COPY a FROM stdin;\n\\.\n")
	f.Add("SELECT 1;\n\\x\n")
	f.Fuzz(func(t *testing.T, in string) {
		total := 0
		err := ScanDump(strings.NewReader(in), func(it DumpItem) error {
			if !strings.HasSuffix(strings.TrimSpace(it.SQL), ";") || it.Line < 1 {
				t.Fatalf("bad item %+v", it)
			}
			total += len(it.SQL) + len(it.Copy)
			return nil
		})
		if err != nil && !errors.Is(err, ErrDump) {
			t.Fatalf("error not ErrDump: %v", err)
		}
		if total > 2*len(in)+16 {
			t.Fatalf("items hold %d bytes from %d of input", total, len(in))
		}
	})
}

func TestDemoIsDeterministicAndHasEveryCase(t *testing.T) {
	a, err := Demo(DefaultDemo)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Demo(DefaultDemo)
	if len(a.Prices) != len(b.Prices) || a.Prices[len(a.Prices)/2] != b.Prices[len(b.Prices)/2] {
		t.Fatal("same seed, different data")
	}
	other := DefaultDemo
	other.Seed++
	c, _ := Demo(other)
	if len(c.Prices) == len(a.Prices) && c.Prices[10] == a.Prices[10] {
		t.Fatal("another seed gives the same data")
	}
	if n := len(a.Prices); n < 20_000 || n > 80_000 {
		t.Fatalf("%d price rows: outside what keeps make up fast yet realistic", n)
	}
	regions := map[string]bool{}
	for _, r := range a.Regions {
		if r.Parent != "" && !regions[r.Parent] {
			t.Fatalf("region %s comes before its parent %s", r.Slug, r.Parent)
		}
		regions[r.Slug] = true
	}
	ports := map[string]bool{}
	for _, p := range a.Ports {
		if !regions[p.Region] {
			t.Fatalf("port %s in unknown region %s", p.Code, p.Region)
		}
		ports[p.Code] = true
	}
	type key struct {
		o, d string
		day  time.Time
	}
	counts := map[key]int{}
	for _, p := range a.Prices {
		if !ports[p.Orig] || !ports[p.Dest] || p.Orig == p.Dest || p.Price <= 0 {
			t.Fatalf("bad price row %+v", p)
		}
		counts[key{p.Orig, p.Dest, p.Day}]++
	}
	var few, many int
	for _, n := range counts {
		if n < 3 {
			few++
		} else {
			many++
		}
	}
	if few == 0 || many == 0 {
		t.Fatalf("days with 1-2 prices: %d, with 3+: %d; both must occur", few, many)
	}
	for d := range 31 {
		if counts[key{"CNGGZ", "EETLL", DefaultDemo.From.AddDate(0, 0, d)}] < 3 {
			t.Fatalf("the README example route lacks prices on day %d", d+1)
		}
	}
}

func TestDemoRejectsBadOptions(t *testing.T) {
	for _, o := range []DemoOptions{{Days: 0, RoutesPerOrigin: 2}, {Days: 5, RoutesPerOrigin: 0}, {Days: 5, RoutesPerOrigin: 500}} {
		if _, err := Demo(o); err == nil {
			t.Errorf("accepted %+v", o)
		}
	}
}

func TestMigrationsAreOrdered(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.Version != i+1 || m.SQL == "" {
			t.Fatalf("migration %d: %+v", i, m)
		}
	}
	if !strings.Contains(ms[len(ms)-1].SQL, "prices (orig_code, dest_code, day)") {
		t.Fatal("the route/day index migration is missing")
	}
}
