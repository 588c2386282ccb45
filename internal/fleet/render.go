package fleet

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes the report as one indented JSON document.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("fleet: write json: %w", err)
	}
	return nil
}

// dash stands in for an unknown or empty value in the text table.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func day(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "OFF"
}

// WriteText writes the report as a table, one secret a line, then each secret's reasons,
// where the logins came from, and a verdict line.
func WriteText(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tREGION\tSECRET\tDATABASE\tSTRATEGY\tROTATION\tLAST SUCCESS\tNEXT DUE\tSTATUS")
	for _, s := range r.Secrets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Account, s.Region, s.Name, dash(s.Database),
			dash(s.Strategy), onOff(s.RotationEnabled), day(s.LastRotated), day(s.NextDue), s.Status)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("fleet: write text: %w", err)
	}
	b := &strings.Builder{}
	for _, s := range r.Secrets {
		for _, why := range s.Reasons {
			fmt.Fprintf(b, "  %s %s: %s\n", s.Status, s.Name, why)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(b, "  note %s: %s\n", s.Name, n)
		}
	}
	for _, t := range r.Targets {
		if t.Error != "" {
			fmt.Fprintf(b, "  ERROR account %s, %s: %s\n", t.Account, t.Region, t.Error)
		}
	}
	fmt.Fprintf(b, "logins: %s\n", r.Logins.Source)
	if r.Logins.Error != "" {
		fmt.Fprintf(b, "  ERROR reading it: %s\n", r.Logins.Error)
	}
	for _, u := range r.Logins.Unattributed {
		fmt.Fprintf(b, "  FAIL pair %s/%s (no listed secret names it): %s\n", u.Pair[0], u.Pair[1], u)
	}
	c := r.Counts()
	fmt.Fprintf(b, "verdict: %d secrets in %d account/region(s): %d ok, %d warn, %d FAIL", len(r.Secrets), len(r.Targets), c[OK], c[Warn], c[Fail])
	switch {
	case r.Incomplete():
		b.WriteString("; INCOMPLETE (see the ERROR lines)\n")
	case r.NeedsPerson():
		b.WriteString("; needs a person (see the FAIL lines)\n")
	default:
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
