package pglog

import (
	"errors"
	"fmt"
	"strings"
	"time"

	// Lambda's runtime has no zoneinfo: a log_timezone named in full must still resolve.
	_ "time/tzdata"
)

// ErrZone marks a line whose time is in a zone this package cannot place: reading it as
// UTC would shift it by hours, so the line is an error rather than a guess.
var ErrZone = errors.New("unknown time zone in PostgreSQL log line")

// abbreviations are the offsets of the zone abbreviations PostgreSQL writes for the common
// log_timezone settings (log_timezone = 'Europe/Berlin' writes CET and CEST). Where an
// abbreviation is ambiguous, PostgreSQL's own Default set decides (CST is Central America,
// IST is Israel); a zone without an abbreviation is written as a number (+04, -0330).
var abbreviations = map[string]int{
	"UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "WEST": 3600, "BST": 3600,
	"CET": 3600, "CEST": 7200, "MET": 3600, "MEST": 7200, "EET": 7200, "EEST": 10800,
	"MSK": 10800, "IST": 7200, "IDT": 10800, "SAST": 7200,
	"EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"AKST": -9 * 3600, "AKDT": -8 * 3600, "HST": -10 * 3600, "AST": -4 * 3600, "ADT": -3 * 3600,
	"NST": -(3*3600 + 1800), "NDT": -(2*3600 + 1800),
	"JST": 9 * 3600, "KST": 9 * 3600, "HKT": 8 * 3600, "SGT": 8 * 3600, "AWST": 8 * 3600, "PHT": 8 * 3600, "WIB": 7 * 3600,
	"ACST": 9*3600 + 1800, "ACDT": 10*3600 + 1800, "AEST": 10 * 3600, "AEDT": 11 * 3600,
	"NZST": 12 * 3600, "NZDT": 13 * 3600, "PKT": 5 * 3600,
}

// timeLayouts are the forms of %m (milliseconds), %t (seconds) and %n-less microseconds.
var timeLayouts = []string{"2006-01-02 15:04:05.000", "2006-01-02 15:04:05", "2006-01-02 15:04:05.000000"}

// parseTime reads "YYYY-MM-DD HH:MM:SS[.fff] ZONE" at the start of s and returns the
// instant and what follows the zone. ZONE is an abbreviation (UTC, EST, CEST), a number
// (+04, -0330, +05:30) or an IANA name (Europe/Berlin). found is false when s does not
// start with a time; err is set (wrapping ErrZone) when it does but its zone is unknown,
// and rest is then what follows the zone.
func parseTime(s string) (t time.Time, rest string, found bool, err error) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' {
		return t, s, false, nil
	}
	end := 19
	if end < len(s) && s[end] == '.' {
		end++
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
	}
	clock := s[:end]
	if end >= len(s) || s[end] != ' ' {
		return t, s, false, nil
	}
	zone, rest := zoneToken(s[end+1:])
	if zone == "" {
		return t, s, true, fmt.Errorf("%w: no zone after %q", ErrZone, clock)
	}
	loc, err := location(zone)
	if err != nil {
		return t, rest, true, err
	}
	for _, layout := range timeLayouts {
		if t, perr := time.ParseInLocation(layout, clock, loc); perr == nil {
			return t, rest, true, nil
		}
	}
	return t, s, false, nil
}

// zoneToken splits the zone from what follows it: a space (%m [%p]) or a colon (RDS's
// %t:%r:). A numeric zone may itself hold a colon (+05:30) only when two digits follow it.
func zoneToken(s string) (zone, rest string) {
	if s == "" {
		return "", s
	}
	if s[0] == '+' || s[0] == '-' {
		i := 1
		for i < len(s) && i < 5 && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 3 && len(s) >= 6 && s[3] == ':' && isDigits(s[4:6]) && (len(s) == 6 || s[6] == ' ' || s[6] == ':') {
			i = 6
		}
		return s[:i], s[i:]
	}
	i := 0
	for i < len(s) && s[i] != ' ' && s[i] != ':' {
		i++
	}
	return s[:i], s[i:]
}

// location turns a zone token into a fixed offset or a named location.
func location(zone string) (*time.Location, error) {
	if off, ok := abbreviations[zone]; ok {
		return time.FixedZone(zone, off), nil
	}
	if zone[0] == '+' || zone[0] == '-' {
		digits := strings.ReplaceAll(zone[1:], ":", "")
		if !isDigits(digits) || len(digits) != 2 && len(digits) != 4 {
			return nil, fmt.Errorf("%w: %q is not an offset such as +04 or -0330", ErrZone, zone)
		}
		h := int(digits[0]-'0')*10 + int(digits[1]-'0')
		m := 0
		if len(digits) == 4 {
			m = int(digits[2]-'0')*10 + int(digits[3]-'0')
		}
		if h > 15 || m > 59 {
			return nil, fmt.Errorf("%w: %q is not a UTC offset", ErrZone, zone)
		}
		off := h*3600 + m*60
		if zone[0] == '-' {
			off = -off
		}
		return time.FixedZone(zone, off), nil
	}
	if strings.Contains(zone, "/") {
		if loc, err := time.LoadLocation(zone); err == nil {
			return loc, nil
		}
	}
	return nil, fmt.Errorf("%w: %q (set log_timezone to UTC, or to a zone PostgreSQL writes as a number)", ErrZone, zone)
}
