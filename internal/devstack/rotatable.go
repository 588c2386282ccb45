package devstack

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// letAdminRotate lets admin (CREATEROLE, not superuser) change role's password and
// attributes, as alternating-users rotation does. Up to PostgreSQL 15 CREATEROLE is
// enough. From 16 on a CREATEROLE role may alter only roles it holds ADMIN OPTION on: it
// has it on the roles it creates, and for a role the superuser made (as earlier versions
// of this setup did) the option is granted here, without INHERIT or SET, so admin gains
// no privilege of role's. A role that does not exist yet is left to admin to create.
func letAdminRotate(ctx context.Context, super *pgx.Conn, admin, role string) error {
	var major int
	if err := super.QueryRow(ctx, "SELECT current_setting('server_version_num')::int / 10000").Scan(&major); err != nil {
		return fmt.Errorf("setup: server version: %w", err)
	}
	if major < 16 {
		return nil
	}
	var exists, hasAdmin bool
	if err := super.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1),
		EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AND pg_has_role($2, $1, 'MEMBER WITH ADMIN OPTION')`, role, admin).Scan(&exists, &hasAdmin); err != nil {
		return fmt.Errorf("setup: look up role %s: %w", role, err)
	}
	if !exists || hasAdmin {
		// A role admin creates comes with ADMIN OPTION for it.
		return nil
	}
	stmt := "GRANT " + pgx.Identifier{role}.Sanitize() + " TO " + pgx.Identifier{admin}.Sanitize() + " WITH ADMIN OPTION, INHERIT FALSE, SET FALSE"
	if _, err := super.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("setup: let %s rotate %s: %w", admin, role, err)
	}
	return nil
}
