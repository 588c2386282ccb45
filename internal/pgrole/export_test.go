package pgrole

import "context"

// PrivilegesFromDependencies and PrivilegesByScan are, for the tests, the two reads of
// object privileges privilegesOf chooses between; each reports whether pg_shdepend's
// read found a role it keeps no record of.
func PrivilegesFromDependencies(ctx context.Context, q Querier, roles ...string) (map[string]map[string]Grant, bool, error) {
	return readPrivileges(ctx, q, privilegesSQL, roles)
}

func PrivilegesByScan(ctx context.Context, q Querier, roles ...string) (map[string]map[string]Grant, bool, error) {
	return readPrivileges(ctx, q, privilegesScanSQL, roles)
}

// PrivilegesOf is privilegesOf.
var PrivilegesOf = privilegesOf
