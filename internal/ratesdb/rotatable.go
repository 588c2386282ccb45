package ratesdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// letAdminRotate lets admin (CREATEROLE, not superuser) change role's password and
// attributes, as alternating-users rotation does. Up to PostgreSQL 15 CREATEROLE is
// enough. From 16 on a CREATEROLE role may alter only roles it holds ADMIN OPTION on, and
// role was created here by the superuser, so the option is granted, without INHERIT or
// SET: admin gains no privilege of role's.
func letAdminRotate(ctx context.Context, super *pgx.Conn, admin, role string) error {
	var major int
	if err := super.QueryRow(ctx, "SELECT current_setting('server_version_num')::int / 10000").Scan(&major); err != nil {
		return fmt.Errorf("setup: server version: %w", err)
	}
	if major < 16 {
		return nil
	}
	stmt := "GRANT " + pgx.Identifier{role}.Sanitize() + " TO " + pgx.Identifier{admin}.Sanitize() + " WITH ADMIN OPTION, INHERIT FALSE, SET FALSE"
	if _, err := super.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("setup: let %s rotate %s: %w", admin, role, err)
	}
	return nil
}
