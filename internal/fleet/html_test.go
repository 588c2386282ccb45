package fleet

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func at(s string) *time.Time {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		panic(err)
	}
	return &t
}

// calendarReport has one secret of each kind the calendar places differently.
func calendarReport() *Report {
	return &Report{
		GeneratedAt: now, // 2026-12-07 12:00 UTC
		Targets:     []TargetResult{{Account: "111122223333", Region: "us-east-1", Secrets: 4}},
		Secrets: []Row{
			{Account: "111122223333", Region: "us-east-1", Name: "rotaudit/dev/admin", ARN: "arn:admin", RotationEnabled: true,
				IntervalDays: 30, NextDue: at("2026-12-03T09:00"), Overdue: true, Status: Fail,
				Reasons: []string{"rotation overdue since 2026-12-03T09:00:00Z"}},
			{Account: "111122223333", Region: "us-east-1", Name: "rotaudit/dev/app", ARN: "arn:app", RotationEnabled: true,
				Strategy: "alternating-users", IntervalDays: 30, LastRotated: at("2026-11-27T12:00"), NextDue: at("2026-12-27T12:00"), Status: OK},
			{Account: "111122223333", Region: "us-east-1", Name: "rotaudit/old/app", ARN: "arn:old", RotationEnabled: true,
				IntervalDays: 7, NextDue: at("2026-10-01T00:00"), Overdue: true, Status: Fail,
				// Text from the outside world: it must stay text.
				Reasons: []string{`the auditor reported <img src=x onerror="document.title='pwned'"> at noon`}},
			{Account: "111122223333", Region: "us-east-1", Name: "rotaudit/off/app", ARN: "arn:off", Status: Fail,
				Reasons: []string{"rotation is off"}},
		},
		Logins: LoginView{Source: "not given"},
	}
}

func TestBuildCalendar(t *testing.T) {
	c := BuildCalendar(calendarReport())
	if c.From != "2026-12-01" || c.To != "2027-02-28" || len(c.Months) != 3 {
		t.Fatalf("calendar %s to %s, %d months; want 2026-12-01 to 2027-02-28 (60 days ahead, whole months), 3", c.From, c.To, len(c.Months))
	}
	placed := map[string][]string{}
	for _, m := range c.Months {
		for _, w := range m.Weeks {
			if len(w) != 7 {
				t.Fatalf("%s: a week of %d days", m.ID, len(w))
			}
			for _, d := range w {
				for _, e := range d.Events {
					name := e.Secret
					if e.Overdue {
						name += " overdue"
					}
					placed[d.Date] = append(placed[d.Date], name)
				}
			}
		}
	}
	want := map[string][]string{
		"2026-12-03": {"rotaudit/dev/admin overdue"},
		"2026-12-07": {"rotaudit/old/app overdue"}, // due before the calendar: today
		"2026-12-27": {"rotaudit/dev/app"},
		"2027-01-26": {"rotaudit/dev/app"},
		"2027-02-25": {"rotaudit/dev/app"},
	}
	if len(placed) != len(want) {
		t.Errorf("placed %v, want %v", placed, want)
	}
	for d, w := range want {
		if strings.Join(placed[d], ",") != strings.Join(w, ",") {
			t.Errorf("%s: %v, want %v", d, placed[d], w)
		}
	}
	if strings.Join(c.Unplaced, ",") != "rotaudit/off/app" {
		t.Errorf("unplaced %v", c.Unplaced)
	}
	// December 2026 begins on a Tuesday: the first week starts with Monday 30 November.
	if first := c.Months[0].Weeks[0][0]; first.Date != "2026-11-30" || first.InMonth {
		t.Errorf("first cell %+v", first)
	}
}

// chromium finds the browser for the page test. Absent, the test skips naming what is
// missing, unless ROTAUDIT_REQUIRE_STACK is set (make test, CI), where it fails: there
// scripts/test.sh installs it first (scripts/install-chromium.sh).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ROTAUDIT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "chromium is not installed (scripts/install-chromium.sh installs it; ROTAUDIT_CHROMIUM names another binary): the fleet page is not checked in a browser"
	if os.Getenv("ROTAUDIT_REQUIRE_STACK") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// dumpDOM loads the file in headless Chromium and returns the DOM it built.
func dumpDOM(t *testing.T, bin, file string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || len(out) == 0 {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// cell returns the opening tag and content of the calendar cell of date.
func cell(t *testing.T, dom, date string) string {
	t.Helper()
	i := strings.Index(dom, `data-date="`+date+`"`)
	if i < 0 {
		t.Fatalf("no calendar cell for %s", date)
	}
	start := strings.LastIndex(dom[:i], "<td")
	end := strings.Index(dom[i:], "</td>")
	return dom[start : i+end]
}

// TestHTMLInChromium renders the page and reads it back as a browser built it: one row per
// secret, each due rotation on its day, the overdue ones marked, the outside world's text
// still text.
func TestHTMLInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the page is not loaded in Chromium")
	}
	bin := chromium(t)
	r := calendarReport()
	var page bytes.Buffer
	if err := WriteHTML(&page, r); err != nil {
		t.Fatal(err)
	}
	if s := page.String(); strings.Contains(s, "<script") || regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(s) {
		t.Fatal("the page has a script or an external asset")
	}
	file := filepath.Join(t.TempDir(), "fleet.html")
	if err := os.WriteFile(file, page.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	dom := dumpDOM(t, bin, file)

	if n := strings.Count(dom, `<tr class="secret `); n != len(r.Secrets) {
		t.Errorf("%d secret rows in the DOM, want %d", n, len(r.Secrets))
	}
	if n := strings.Count(dom, `<tr class="secret status-fail"`); n != 3 {
		t.Errorf("%d failing rows, want 3", n)
	}
	if n := strings.Count(dom, `<table class="month"`); n != 3 {
		t.Errorf("%d months, want 3", n)
	}
	tests := []struct {
		date string
		want []string
		not  []string
	}{
		{"2026-12-03", []string{`class="day past"`, `<div class="due overdue"`, "rotaudit/dev/admin"}, []string{"rotaudit/dev/app"}},
		{"2026-12-07", []string{`class="day today"`, `<div class="due overdue"`, "rotaudit/old/app"}, nil},
		{"2026-12-27", []string{`<div class="due"`, "rotaudit/dev/app"}, []string{"overdue"}},
		{"2027-01-26", []string{"rotaudit/dev/app"}, []string{"overdue"}},
		{"2026-12-08", nil, []string{"due"}},
	}
	for _, tt := range tests {
		c := cell(t, dom, tt.date)
		for _, w := range tt.want {
			if !strings.Contains(c, w) {
				t.Errorf("cell %s lacks %q: %s", tt.date, w, c)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(c, w) {
				t.Errorf("cell %s has %q: %s", tt.date, w, c)
			}
		}
	}
	if strings.Contains(dom, "<img") || strings.Contains(dom, "<title>pwned") || !strings.Contains(dom, "the auditor reported &lt;img src=x") {
		t.Error("a reason's markup became an element: the page does not escape it")
	}
	if !strings.Contains(dom, `id="verdict">1 ok, 0 warn, 3 FAIL: needs a person`) {
		t.Errorf("verdict missing or wrong: %s", dom[strings.Index(dom, "<body"):][:400])
	}
}
