package ratesdb

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ErrDump is wrapped by every error about the content of a dump file.
var ErrDump = errors.New("unsupported dump")

// maxDumpLine bounds one line of a dump; prices rows are a few dozen bytes.
const maxDumpLine = 1 << 20

// maxStatement bounds one SQL statement of a dump.
const maxStatement = 1 << 20

// copyStart matches the COPY ... FROM stdin; line that pg_dump writes before table data.
var copyStart = regexp.MustCompile(`(?is)^\s*COPY\s+[^;]+\s+FROM\s+stdin\s*;\s*$`)

// DumpItem is one unit of a plain-format dump: a statement, or a COPY statement and the
// data lines that follow it (without the terminating `\.`).
type DumpItem struct {
	// Line is the 1-based line on which the item starts, for error messages.
	Line int
	SQL  string
	// Copy is the COPY data, each row ending in a newline; nil for a plain statement.
	Copy []byte
}

// ScanDump splits a plain-format pg_dump (pg_dump -Fp, as the reference rates.sql) into
// statements and COPY blocks and calls fn for each. It understands what pg_dump writes for
// tables and data: `--` comment lines, statements ending in `;` at the end of a line,
// `COPY ... FROM stdin;` followed by rows up to `\.`. It rejects psql meta-commands other
// than the COPY terminator, which a data dump of these tables never needs.
func ScanDump(r io.Reader, fn func(DumpItem) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxDumpLine)
	var stmt strings.Builder
	start, n := 0, 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if stmt.Len() == 0 {
			trimmed := strings.TrimSpace(line)
			if trimmed == "" || strings.HasPrefix(trimmed, "--") {
				continue
			}
			if strings.HasPrefix(trimmed, `\`) {
				return fmt.Errorf("%w: line %d: psql meta-command %q is not supported", ErrDump, n, firstWord(trimmed))
			}
			start = n
		}
		if stmt.Len()+len(line) > maxStatement {
			return fmt.Errorf("%w: line %d: statement starting on line %d is longer than %d bytes", ErrDump, n, start, maxStatement)
		}
		stmt.WriteString(line)
		stmt.WriteByte('\n')
		if !strings.HasSuffix(strings.TrimSpace(line), ";") {
			continue
		}
		sql := stmt.String()
		stmt.Reset()
		if !copyStart.MatchString(sql) {
			if err := fn(DumpItem{Line: start, SQL: sql}); err != nil {
				return err
			}
			continue
		}
		var data bytes.Buffer
		terminated := false
		for sc.Scan() {
			n++
			row := sc.Bytes()
			if string(row) == `\.` {
				terminated = true
				break
			}
			data.Write(row)
			data.WriteByte('\n')
		}
		if !terminated {
			if err := sc.Err(); err != nil {
				return fmt.Errorf("%w: line %d: %v", ErrDump, n+1, err)
			}
			return fmt.Errorf("%w: COPY on line %d has no terminating \\. line", ErrDump, start)
		}
		if err := fn(DumpItem{Line: start, SQL: sql, Copy: data.Bytes()}); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: line %d: %v", ErrDump, n+1, err)
	}
	if strings.TrimSpace(stmt.String()) != "" {
		return fmt.Errorf("%w: statement starting on line %d does not end with ;", ErrDump, start)
	}
	return nil
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t"); i > 0 {
		return s[:i]
	}
	return s
}

// LoadDump runs a plain-format dump on conn, in one transaction, with the privileges of the
// connection's current role: run it as the owner of the tables (never as a superuser) so a
// dump can do no more than that role may. It resets the session settings the dump changes
// (pg_dump empties search_path) before it returns.
func LoadDump(ctx context.Context, conn Querier, r io.Reader) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		return ScanDump(r, func(it DumpItem) error {
			if it.Copy == nil {
				if _, err := tx.Exec(ctx, it.SQL); err != nil {
					return fmt.Errorf("load dump: statement on line %d: %w", it.Line, err)
				}
				return nil
			}
			if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(it.Copy), it.SQL); err != nil {
				return fmt.Errorf("load dump: COPY on line %d: %w", it.Line, err)
			}
			return nil
		})
	})
	if _, rerr := conn.Exec(ctx, "RESET search_path"); rerr != nil && err == nil {
		err = fmt.Errorf("load dump: reset search_path: %w", rerr)
	}
	return err
}
