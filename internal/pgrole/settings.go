package pgrole

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// settings returns role's settings as "database\x00name=value" ("" for all databases).
func settings(ctx context.Context, q Querier, role string) (map[string]bool, error) {
	m, err := settingsOf(ctx, q, role)
	return m[role], err
}

// settingsOf reads the settings of several roles in one query.
func settingsOf(ctx context.Context, q Querier, roles ...string) (map[string]map[string]bool, error) {
	rows, err := q.Query(ctx, `SELECT r.rolname, COALESCE(d.datname, ''), c
		FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
		LEFT JOIN pg_database d ON d.oid = s.setdatabase, unnest(s.setconfig) AS c
		WHERE r.rolname = ANY($1)`, roles)
	if err != nil {
		return nil, fmt.Errorf("read settings of %v: %w", roles, err)
	}
	defer rows.Close()
	out := map[string]map[string]bool{}
	for _, r := range roles {
		out[r] = map[string]bool{}
	}
	for rows.Next() {
		var role, db, c string
		if err := rows.Scan(&role, &db, &c); err != nil {
			return nil, fmt.Errorf("read settings of %v: %w", roles, err)
		}
		out[role][db+"\x00"+c] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read settings of %v: %w", roles, err)
	}
	return out, nil
}

// mirrorSettings gives dst src's settings, except those the connected role may not set,
// whose keys it returns.
func mirrorSettings(ctx context.Context, q Querier, src, dst string) ([]string, error) {
	both, err := settingsOf(ctx, q, src, dst)
	if err != nil {
		return nil, err
	}
	ss, ds := both[src], both[dst]
	if len(setDiff("", ss, ds, src, dst)) == 0 {
		return nil, nil
	}
	canSet := map[string]bool{}
	for k := range ss {
		_, c, _ := strings.Cut(k, "\x00")
		name, _, _ := strings.Cut(c, "=")
		if _, done := canSet[name]; done {
			continue
		}
		ok, err := CanSet(ctx, q, name)
		if err != nil {
			return nil, err
		}
		canSet[name] = ok
	}
	// RESET ALL, as a role that is not superuser, keeps the settings it may not change:
	// those stay as they are, on both roles alike.
	reset := map[string]bool{}
	for k := range ds {
		if !ss[k] {
			db, _, _ := strings.Cut(k, "\x00")
			reset[db] = true
		}
	}
	for db := range reset {
		if _, err := q.Exec(ctx, "ALTER ROLE "+Ident(dst)+inDatabase(db)+" RESET ALL"); err != nil {
			return nil, fmt.Errorf("reset settings of %s: %w", dst, err)
		}
	}
	var skipped []string
	settable := map[string]bool{}
	for k := range ss {
		db, c, _ := strings.Cut(k, "\x00")
		name, _, _ := strings.Cut(c, "=")
		switch {
		case ds[k] && !reset[db]:
		case canSet[name]:
			settable[k] = true
		case !ds[k]:
			skipped = append(skipped, k)
		}
	}
	sort.Strings(skipped)
	ks := make([]string, 0, len(settable))
	for k := range settable {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		db, c, _ := strings.Cut(k, "\x00")
		name, value, ok := strings.Cut(c, "=")
		if !ok {
			return nil, fmt.Errorf("setting %q of %s has no value", c, src)
		}
		stmt := "ALTER ROLE " + Ident(dst) + inDatabase(db) + " SET " + Ident(name) + " TO " + settingValue(name, value)
		if _, err := q.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("copy setting %s of %s to %s: %w", name, src, dst, err)
		}
	}
	return skipped, nil
}

// CanSet reports whether the connected role may store setting name on a role (ALTER ROLE
// ... SET): a superuser may set anything; another role a setting of context user or
// backend, or, on PostgreSQL 15+, a superuser setting it was granted SET on. An unknown
// name (a custom placeholder) needs a superuser.
func CanSet(ctx context.Context, q Querier, name string) (bool, error) {
	major, err := ServerMajor(ctx, q)
	if err != nil {
		return false, err
	}
	granted := "false"
	if major >= 15 {
		granted = "s.context IN ('superuser', 'superuser-backend') AND has_parameter_privilege(current_user, s.name, 'SET')"
	}
	var ok bool
	err = q.QueryRow(ctx, `SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
		OR COALESCE((SELECT s.context IN ('user', 'backend') OR `+granted+`
			FROM pg_settings s WHERE s.name = lower($1)), false)`, name).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check whether %s may be set: %w", name, err)
	}
	return ok, nil
}

// Unsettable lists role's settings that the connected role may not set, as
// "name" or "name (in database db)". It changes nothing.
func Unsettable(ctx context.Context, q Querier, role string) ([]string, error) {
	ss, err := settings(ctx, q, role)
	if err != nil {
		return nil, err
	}
	var out []string
	for k := range ss {
		db, c, _ := strings.Cut(k, "\x00")
		name, _, _ := strings.Cut(c, "=")
		ok, err := CanSet(ctx, q, name)
		if err != nil {
			return nil, err
		}
		if !ok {
			if db != "" {
				name += " (in database " + db + ")"
			}
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

func inDatabase(db string) string {
	if db == "" {
		return ""
	}
	return " IN DATABASE " + Ident(db)
}

// listQuoted are the settings whose stored value is a list of double-quoted elements
// (GUC_LIST_QUOTE): each element must be passed as its own literal.
var listQuoted = map[string]bool{
	"search_path": true, "temp_tablespaces": true, "session_preload_libraries": true,
	"shared_preload_libraries": true, "local_preload_libraries": true,
}

func settingValue(name, value string) string {
	if !listQuoted[strings.ToLower(name)] {
		return literal(value)
	}
	var parts []string
	for _, e := range splitList(value) {
		parts = append(parts, literal(e))
	}
	if len(parts) == 0 {
		return "''"
	}
	return strings.Join(parts, ", ")
}

// splitList splits a flattened GUC list: elements separated by commas, double-quoted
// where needed, with "" standing for a quote inside quotes.
func splitList(v string) []string {
	var out []string
	var cur strings.Builder
	inQ, started := false, false
	for i := 0; i < len(v); i++ {
		ch := v[i]
		switch {
		case inQ && ch == '"' && i+1 < len(v) && v[i+1] == '"':
			cur.WriteByte('"')
			i++
		case ch == '"':
			inQ = !inQ
			started = true
		case !inQ && ch == ',':
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
			started = false
		case !inQ && (ch == ' ' || ch == '\t') && !started:
		default:
			cur.WriteByte(ch)
			started = true
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" || started {
		out = append(out, s)
	}
	return out
}

// literal quotes a string as an SQL literal (standard_conforming_strings is on since 9.1;
// E” is not used).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
