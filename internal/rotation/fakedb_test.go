package rotation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// fakeCluster is a unit-test database: logins checked against passwords, and the catalog
// rows the guard reads. Integration tests use the real PostgreSQL.
type fakeCluster struct {
	passwords map[string]string
	// roles are the guard query's rows per user: name, super, createrole, replication,
	// bypassrls. A user without an entry has one plain row.
	roles map[string][][]any
	// queryErr, when set, fails the test query.
	queryErr error
	// writes are the statements sent that are not transaction control.
	writes []string
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{passwords: map[string]string{"app": "old-pass", "master": "master-pass"}, roles: map[string][][]any{}}
}

func (c *fakeCluster) dial(_ context.Context, cfg *pgx.ConnConfig) (DB, error) {
	if pw, ok := c.passwords[cfg.User]; !ok || pw != cfg.Password {
		return nil, &pgconn.PgError{Code: "28P01", Message: "password authentication failed for user " + cfg.User}
	}
	return &fakeConn{c: c, user: cfg.User}, nil
}

type fakeConn struct {
	c    *fakeCluster
	user string
}

func (f *fakeConn) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	switch sql {
	case "BEGIN", "BEGIN READ ONLY", "ROLLBACK", "COMMIT":
	default:
		f.c.writes = append(f.c.writes, sql)
	}
	if strings.HasPrefix(sql, "ALTER ROLE") {
		return pgconn.CommandTag{}, errors.New("fake database: ALTER ROLE not modelled")
	}
	return pgconn.NewCommandTag("OK"), nil
}

func (f *fakeConn) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	if strings.Contains(sql, "WITH RECURSIVE up") {
		// The guard's query: root, role, direct, super, createrole, replication, bypassrls.
		var out [][]any
		for _, user := range args[0].([]string) {
			rows, ok := f.c.roles[user]
			if !ok {
				if _, exists := f.c.passwords[user]; exists {
					rows = [][]any{{user, false, false, false, false}}
				}
			}
			for _, r := range rows {
				out = append(out, append([]any{user, r[0], r[0] != user}, r[1:]...))
			}
		}
		return &fakeRows{rows: out}, nil
	}
	if f.c.queryErr != nil {
		return nil, f.c.queryErr
	}
	return &fakeRows{}, nil
}

func (f *fakeConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := f.Query(ctx, sql, args...)
	return fakeRow{rows, err}
}

func (f *fakeConn) Close(context.Context) error { return nil }

type fakeRow struct {
	rows pgx.Rows
	err  error
}

func (r fakeRow) Scan(dst ...any) error {
	if r.err != nil {
		return r.err
	}
	if !r.rows.Next() {
		return pgx.ErrNoRows
	}
	return r.rows.Scan(dst...)
}

type fakeRows struct {
	rows [][]any
	i    int
}

func (r *fakeRows) Close()                                       {}
func (r *fakeRows) Err() error                                   { return nil }
func (r *fakeRows) CommandTag() pgconn.CommandTag                { return pgconn.NewCommandTag("SELECT") }
func (r *fakeRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (r *fakeRows) Values() ([]any, error)                       { return r.rows[r.i-1], nil }
func (r *fakeRows) RawValues() [][]byte                          { return nil }
func (r *fakeRows) Conn() *pgx.Conn                              { return nil }
func (r *fakeRows) TypeMap() *pgtype.Map                         { return nil }

func (r *fakeRows) Next() bool {
	if r.i >= len(r.rows) {
		return false
	}
	r.i++
	return true
}

func (r *fakeRows) Scan(dst ...any) error {
	row := r.rows[r.i-1]
	if len(dst) != len(row) {
		return fmt.Errorf("fake rows: scan of %d values into %d", len(row), len(dst))
	}
	for i, d := range dst {
		switch p := d.(type) {
		case *string:
			*p = row[i].(string)
		case *bool:
			*p = row[i].(bool)
		default:
			return fmt.Errorf("fake rows: cannot scan into %T", d)
		}
	}
	return nil
}
