package pgrole

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Mirror is MirrorWith without options, for callers that need no warnings.
func Mirror(ctx context.Context, q Querier, src, dst string) error {
	_, err := MirrorWith(ctx, q, src, dst, Options{})
	return err
}

// Options changes what MirrorWith does beyond making the two roles equivalent.
type Options struct {
	// Base, when it names src or dst, is the original user of the pair: the other user is
	// made a member of it (with INHERIT, and SET on PostgreSQL 16+), as AWS's alternating
	// function does, so the clone can use the objects Base owns. Empty: neither user is a
	// member of the other.
	Base string
	// RefuseExceeding makes MirrorWith fail with an *ExceedsError, before it changes
	// anything, when dst already exists and holds what src lacks (Exceeds(dst, src)): the
	// check a rotation makes before it hands out dst's login, made from the catalog reads
	// the mirror needs anyway instead of a second set of them.
	RefuseExceeding bool
}

// ErrExceeds: the destination holds what the source lacks (Options.RefuseExceeding).
var ErrExceeds = errors.New("role holds what the other lacks")

// ExceedsError lists what Role holds that Than lacks (see Exceeds).
type ExceedsError struct {
	Role, Than string
	More       []string
}

func (e *ExceedsError) Error() string {
	return fmt.Sprintf("%s: %s holds what %s lacks: %s", ErrExceeds, e.Role, e.Than, strings.Join(e.More, "; "))
}

func (e *ExceedsError) Is(target error) bool { return target == ErrExceeds }

// Result says what MirrorWith did not copy on purpose.
type Result struct {
	// Warnings name settings of src that the connected role may not set (only a superuser,
	// or on 15+ a role granted SET on the parameter, may set them); dst lacks them.
	Warnings []string
}

// MirrorWith creates dst when it does not exist and makes it equivalent to src: same
// attributes, settings and membership options, and the union of both roles' groups and
// privileges on both. Run it in a transaction so a failure leaves nothing half done. See
// the package doc for what is copied and what the connected role needs.
func MirrorWith(ctx context.Context, q Querier, src, dst string, o Options) (Result, error) {
	var res Result
	if src == dst {
		return res, fmt.Errorf("mirror: source and destination are both %q", src)
	}
	for _, n := range []string{src, dst} {
		if len(n) > MaxNameLen {
			return res, fmt.Errorf("mirror: role name %q is %d bytes, over PostgreSQL's %d", n, len(n), MaxNameLen)
		}
	}
	if o.Base != "" && o.Base != src && o.Base != dst {
		return res, fmt.Errorf("mirror: base %q is neither %q nor %q", o.Base, src, dst)
	}
	sa, ok, err := LookupAttributes(ctx, q, src)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	if !ok {
		return res, fmt.Errorf("mirror: %w: %s", ErrNoRole, src)
	}
	if sa.Super {
		return res, fmt.Errorf("mirror: %w: %s is a superuser; rotate a role that is not", ErrNotMirrorable, src)
	}
	da, exists, err := LookupAttributes(ctx, q, dst)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	if exists && da.Super {
		return res, fmt.Errorf("mirror: %w: %s is a superuser", ErrNotMirrorable, dst)
	}
	pair := []string{src}
	if exists {
		pair = append(pair, dst)
	}
	major, problems, err := unalterable(ctx, q, sa, pair...)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	// Memberships and privileges are read before anything changes: no statement below
	// alters another role's grants, so they hold until the GRANTs that use them. The
	// comparison is the first refusal: a destination holding more than the source is
	// refused as such, whatever the connected role may alter.
	mem, err := membershipsOf(ctx, q, major, src, dst)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	g, err := privilegesOf(ctx, q, src, dst)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	if o.RefuseExceeding && exists {
		if more := exceeds(dst, src, da, sa, mem, g); len(more) > 0 {
			return res, &ExceedsError{Role: dst, Than: src, More: more}
		}
	}
	if len(problems) > 0 {
		return res, fmt.Errorf("mirror: %w: %s", ErrNotAdmin, strings.Join(problems, "; "))
	}
	if !exists {
		if _, err := q.Exec(ctx, "CREATE ROLE "+Ident(dst)+" WITH "+attrClause(sa, Attributes{}, true)); err != nil {
			return res, fmt.Errorf("mirror: create role %s: %w", dst, err)
		}
	} else if c := attrClause(sa, da, false); c != "" {
		if _, err := q.Exec(ctx, "ALTER ROLE "+Ident(dst)+" WITH "+c); err != nil {
			return res, fmt.Errorf("mirror: alter role %s attributes: %w", dst, err)
		}
	}
	skipped, err := mirrorSettings(ctx, q, src, dst)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	for _, k := range skipped {
		db, c, _ := strings.Cut(k, "\x00")
		name, _, _ := strings.Cut(c, "=")
		w := fmt.Sprintf("setting %s of %s not copied to %s: the connected role may not set it (a superuser can: ALTER ROLE %s%s SET ...)", name, src, dst, Ident(dst), inDatabase(db))
		res.Warnings = append(res.Warnings, w)
	}
	granted := 0
	n, err := mirrorMemberships(ctx, q, major, src, dst, mem, o)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	granted += n
	sg, dg := g[src], g[dst]
	n, err = grantMissing(ctx, q, sg, dg, dst)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	m, err := grantMissing(ctx, q, dg, sg, src)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	granted += n + m
	if granted == 0 && len(skipped) == 0 {
		// Both roles already held the same grants, read just now: nothing to verify.
		return res, nil
	}
	// PostgreSQL turns a GRANT it cannot honour into a warning: check what really holds.
	diff, err := compare(ctx, q, major, src, dst, skipped)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	if len(diff) > 0 {
		if len(diff) > 5 {
			diff = append(diff[:5], fmt.Sprintf("and %d more", len(diff)-5))
		}
		return res, fmt.Errorf("mirror: %w: %s (the rotating role must own these objects or hold the privileges WITH GRANT OPTION / ADMIN OPTION)", ErrIncomplete, strings.Join(diff, "; "))
	}
	return res, nil
}

// Compare lists what one of the two roles has and the other lacks: attributes,
// settings, memberships (with their options) and privileges. Empty means they can do the
// same things. Membership of one role of the two in the other is not compared.
func Compare(ctx context.Context, q Querier, a, b string) ([]string, error) {
	major, err := ServerMajor(ctx, q)
	if err != nil {
		return nil, err
	}
	return compare(ctx, q, major, a, b, nil)
}

// compare is Compare ignoring the settings keyed in skip (see settingsOf).
func compare(ctx context.Context, q Querier, major int, a, b string, skip []string) ([]string, error) {
	var diff []string
	aa, okA, err := LookupAttributes(ctx, q, a)
	if err != nil {
		return nil, err
	}
	ba, okB, err := LookupAttributes(ctx, q, b)
	if err != nil {
		return nil, err
	}
	if !okA || !okB {
		return nil, fmt.Errorf("compare %s and %s: %w", a, b, ErrNoRole)
	}
	if c := attrClause(aa, ba, false); c != "" {
		diff = append(diff, fmt.Sprintf("attributes of %s differ (%s)", b, c))
	}
	both, err := settingsOf(ctx, q, a, b)
	if err != nil {
		return nil, err
	}
	as, bs := both[a], both[b]
	for _, k := range skip {
		delete(as, k)
		delete(bs, k)
	}
	diff = append(diff, setDiff("setting", as, bs, a, b)...)
	mem, err := membershipsOf(ctx, q, major, a, b)
	if err != nil {
		return nil, err
	}
	priv, err := privilegesOf(ctx, q, a, b)
	if err != nil {
		return nil, err
	}
	for _, g := range []map[string]map[string]Grant{mem, priv} {
		ag, bg := g[a], g[b]
		for _, m := range []map[string]Grant{ag, bg} {
			for k, gr := range m {
				if gr.Kind == "MEMBER" && (gr.Name == a || gr.Name == b) {
					delete(m, k)
				}
			}
		}
		diff = append(diff, setDiff("grant", keys(ag), keys(bg), a, b)...)
	}
	sort.Strings(diff)
	return diff, nil
}

func setDiff(what string, a, b map[string]bool, an, bn string) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, fmt.Sprintf("%s has %s %s, %s does not", an, what, k, bn))
		}
	}
	for k := range b {
		if !a[k] {
			out = append(out, fmt.Sprintf("%s has %s %s, %s does not", bn, what, k, an))
		}
	}
	return out
}

func keys(m map[string]Grant) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// mirrorMemberships gives dst every group src is in with src's options (a group dst is
// already in gets src's options: granted where src has more, revoked where it has less,
// so a membership granted WITH INHERIT FALSE stays so), and src every group only dst is
// in. Neither becomes a member of the other, unless o.Base makes the non-base user a
// member of the base. It returns how many statements it issued.
func mirrorMemberships(ctx context.Context, q Querier, major int, src, dst string, m map[string]map[string]Grant, o Options) (int, error) {
	sg, dg := byGroup(m[src]), byGroup(m[dst])
	var stmts []string
	add := func(role string, g Grant) { stmts = append(stmts, g.statement(role)) }
	for _, name := range sortedKeys(sg) {
		g := sg[name]
		if name == src || name == dst {
			continue
		}
		have, ok := dg[name]
		switch {
		case !ok:
			add(dst, g)
		case have.key() != g.key():
			if g.Grantable && !have.Grantable || g.HasOptions && (g.Inherit && !have.Inherit || g.Set && !have.Set) {
				add(dst, g)
			}
			for _, opt := range []struct {
				name      string
				want, got bool
			}{{"ADMIN", g.Grantable, have.Grantable}, {"INHERIT", g.Inherit, have.Inherit}, {"SET", g.Set, have.Set}} {
				if opt.got && !opt.want && (opt.name == "ADMIN" || g.HasOptions) {
					stmts = append(stmts, "REVOKE "+opt.name+" OPTION FOR "+Ident(name)+" FROM "+Ident(dst))
				}
			}
		}
	}
	for _, name := range sortedKeys(dg) {
		if _, ok := sg[name]; !ok && name != src && name != dst {
			add(src, dg[name])
		}
	}
	if o.Base != "" {
		other := src
		if o.Base == src {
			other = dst
		}
		g := Grant{Kind: "MEMBER", Name: o.Base, Inherit: true, Set: true, HasOptions: major >= 16}
		if m[other] == nil || byGroup(m[other])[o.Base].key() != g.key() {
			add(other, g)
		}
	}
	for _, st := range stmts {
		if _, err := q.Exec(ctx, st); err != nil {
			return 0, fmt.Errorf("%s: %w (the rotating role needs ADMIN OPTION on the group; before PostgreSQL 16 CREATEROLE is enough)", st, err)
		}
	}
	return len(stmts), nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// grantMissing grants to role the privileges want holds and have lacks, and returns how
// many GRANTs it issued.
func grantMissing(ctx context.Context, q Querier, want, have map[string]Grant, role string) (int, error) {
	ks := make([]string, 0, len(want))
	for k := range want {
		if _, ok := have[k]; !ok {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	for _, k := range ks {
		if _, err := q.Exec(ctx, want[k].statement(role)); err != nil {
			return 0, fmt.Errorf("grant %s to %s: %w (the rotating role must own the object or hold the privilege WITH GRANT OPTION)", k, role, err)
		}
	}
	return len(ks), nil
}

// Exceeds lists what role holds that than lacks: the powerful attributes (SUPERUSER,
// CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS), memberships (an ADMIN OPTION counts) and
// object privileges (a grant option counts). Membership of either role in the other is
// not compared. Empty means that handing out role's login gives nothing than's login
// does not: the test a rotation makes before it resets the password of the other user of
// a pair and copies grants between the two (MirrorWith is additive in both directions).
func Exceeds(ctx context.Context, q Querier, role, than string) ([]string, error) {
	ra, okR, err := LookupAttributes(ctx, q, role)
	if err != nil {
		return nil, err
	}
	ta, okT, err := LookupAttributes(ctx, q, than)
	if err != nil {
		return nil, err
	}
	if !okR || !okT {
		return nil, fmt.Errorf("compare %s with %s: %w", role, than, ErrNoRole)
	}
	major, err := ServerMajor(ctx, q)
	if err != nil {
		return nil, err
	}
	mem, err := membershipsOf(ctx, q, major, role, than)
	if err != nil {
		return nil, err
	}
	priv, err := privilegesOf(ctx, q, role, than)
	if err != nil {
		return nil, err
	}
	return exceeds(role, than, ra, ta, mem, priv), nil
}

// exceeds is Exceeds on what was read: both roles' attributes, and their memberships and
// privileges keyed by role.
func exceeds(role, than string, ra, ta Attributes, mem, priv map[string]map[string]Grant) []string {
	var out []string
	for _, a := range []struct {
		r, t bool
		name string
	}{
		{ra.Super, ta.Super, "SUPERUSER"}, {ra.CreateRole, ta.CreateRole, "CREATEROLE"}, {ra.CreateDB, ta.CreateDB, "CREATEDB"},
		{ra.Replication, ta.Replication, "REPLICATION"}, {ra.BypassRLS, ta.BypassRLS, "BYPASSRLS"},
	} {
		if a.r && !a.t {
			out = append(out, "attribute "+a.name)
		}
	}
	have := byGroup(mem[than])
	for _, g := range mem[role] {
		if g.Name == role || g.Name == than {
			continue
		}
		h, ok := have[g.Name]
		switch {
		case !ok:
			out = append(out, g.key())
		case g.Grantable && !h.Grantable, g.HasOptions && ((g.Inherit && !h.Inherit) || (g.Set && !h.Set)):
			out = append(out, g.key()+", where "+than+" has "+h.key())
		}
	}
	tp := priv[than]
	for k, g := range priv[role] {
		if _, ok := tp[k]; ok {
			continue
		}
		if !g.Grantable {
			// than may hold the same privilege with the grant option, which includes it.
			strong := g
			strong.Grantable = true
			if _, ok := tp[strong.key()]; ok {
				continue
			}
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
