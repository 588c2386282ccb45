package fleet

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed page.html.tmpl
var pageHTML string

// page is parsed once; html/template escapes every value for its context.
var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"statusClass": func(s Status) string { return strings.ToLower(string(s)) },
	"when":        day,
}).Parse(pageHTML))

// CalendarDays is how far ahead the calendar reaches at least: it shows whole months, from
// the one holding the report's time to the one holding CalendarDays later.
const CalendarDays = 60

// Calendar is the rotation calendar of a report: whole months, weeks from Monday.
type Calendar struct {
	// From and To are the first and last days shown (YYYY-MM-DD).
	From, To string
	Months   []Month
	// Unplaced names the secrets with no rotation to place (rotation off or no due date).
	Unplaced []string
}

// Month is one month of the calendar.
type Month struct {
	// ID is YYYY-MM; Title "December 2026".
	ID, Title string
	// Weeks hold seven days each; days of the neighbouring months have InMonth false.
	Weeks [][]Day
}

// Day is one cell of the calendar.
type Day struct {
	// Date is YYYY-MM-DD; Day the day of the month.
	Date        string
	Day         int
	InMonth     bool
	Today, Past bool
	Events      []Event
}

// Event is one rotation due on a day.
type Event struct {
	Secret, ARN string
	// Overdue: the rotation is past its due date and grace.
	Overdue bool
	// Title is the tooltip: account, region, due time and strategy.
	Title string
}

func dayKey(t time.Time) string { return t.UTC().Format("2006-01-02") }

// BuildCalendar places each secret's due rotations on the months from the report's time
// to CalendarDays after it. A secret with a period in days gets each occurrence; an
// overdue one gets only its missed date, or today when that date is before the calendar.
func BuildCalendar(r *Report) Calendar {
	now := r.GeneratedAt.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	horizon := today.AddDate(0, 0, CalendarDays)
	last := time.Date(horizon.Year(), horizon.Month()+1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	c := Calendar{From: dayKey(first), To: dayKey(last)}

	events := map[string][]Event{}
	for _, s := range r.Secrets {
		if !s.RotationEnabled || s.NextDue == nil {
			c.Unplaced = append(c.Unplaced, s.Name)
			continue
		}
		ev := Event{Secret: s.Name, ARN: s.ARN, Overdue: s.Overdue}
		ev.Title = fmt.Sprintf("%s in %s, %s: due %s", s.Name, s.Account, s.Region, s.NextDue.UTC().Format(time.RFC3339))
		if s.Strategy != "" {
			ev.Title += " (" + s.Strategy + ")"
		}
		if s.Overdue {
			ev.Title += ": OVERDUE"
			at := *s.NextDue
			if at.Before(first) {
				at = today
			}
			events[dayKey(at)] = append(events[dayKey(at)], ev)
			continue
		}
		for d, i := s.NextDue.UTC(), 0; !d.After(last.Add(24*time.Hour-time.Nanosecond)) && i < 400; i++ {
			if !d.Before(first) {
				events[dayKey(d)] = append(events[dayKey(d)], ev)
			}
			if s.IntervalDays <= 0 {
				break
			}
			d = d.AddDate(0, 0, s.IntervalDays)
		}
	}

	for m := first; !m.After(last); m = m.AddDate(0, 1, 0) {
		mo := Month{ID: m.Format("2006-01"), Title: m.Format("January 2006")}
		// Back to the Monday on or before the 1st.
		start := m.AddDate(0, 0, -((int(m.Weekday()) + 6) % 7))
		for w := start; w.Month() == m.Month() || w.Before(m); w = w.AddDate(0, 0, 7) {
			week := make([]Day, 7)
			for i := range week {
				d := w.AddDate(0, 0, i)
				week[i] = Day{Date: dayKey(d), Day: d.Day(), InMonth: d.Month() == m.Month(),
					Today: d.Equal(today), Past: d.Before(today)}
				if week[i].InMonth {
					week[i].Events = events[week[i].Date]
				}
			}
			mo.Weeks = append(mo.Weeks, week)
		}
		c.Months = append(c.Months, mo)
	}
	return c
}

// WriteHTML writes the report as one self-contained page (no script, no external asset):
// the secrets' table and the rotation calendar.
func WriteHTML(w io.Writer, r *Report) error {
	c := r.Counts()
	verdict, class := fmt.Sprintf("%d ok, %d warn, %d FAIL: nothing needs a person", c[OK], c[Warn], c[Fail]), "ok"
	switch {
	case r.Incomplete():
		verdict, class = fmt.Sprintf("%d ok, %d warn, %d FAIL: INCOMPLETE, some accounts or the state table could not be read", c[OK], c[Warn], c[Fail]), "fail"
	case r.NeedsPerson():
		verdict, class = fmt.Sprintf("%d ok, %d warn, %d FAIL: needs a person", c[OK], c[Warn], c[Fail]), "fail"
	}
	var targetErrs []TargetResult
	for _, t := range r.Targets {
		if t.Error != "" {
			targetErrs = append(targetErrs, t)
		}
	}
	data := struct {
		Report                *Report
		Generated             string
		Verdict, VerdictClass string
		TargetErrors          []TargetResult
		Calendar              Calendar
	}{r, r.GeneratedAt.UTC().Format(time.RFC3339), verdict, class, targetErrs, BuildCalendar(r)}
	if err := page.Execute(w, data); err != nil {
		return fmt.Errorf("fleet: write html: %w", err)
	}
	return nil
}
