// Package ratesdb owns the rates database: its schema migrations, the roles that use it
// (a NOLOGIN reader role that holds SELECT and nothing else, the application's login roles
// as its members, and the admin role that owns the tables and rotates the application's
// password), a deterministic demo-data generator and the loading of a plain pg_dump
// instead. The bootstrap function (internal/bootstrap) runs it on AWS; the local stack's
// set-up (internal/devstack) on the developer's machine.
package ratesdb

// DefaultDatabase is the rates database's name, on AWS and in the local stack.
const DefaultDatabase = "rates"

// Tables lists the tables the application role may read.
var Tables = []string{"ports", "regions", "prices"}
