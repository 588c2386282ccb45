// Package rotation rotates PostgreSQL credentials stored in AWS Secrets Manager: the four
// steps (createSecret, setSecret, testSecret, finishSecret) that Secrets Manager invokes,
// as a drop-in replacement for AWS's SecretsManagerRDSPostgreSQLRotationSingleUser and
// ...MultiUser functions (same secret JSON, same environment variables, same staging-label
// contract), without their known failures:
//
//   - the new password never travels in SQL: setSecret computes the SCRAM-SHA-256
//     verifier client-side (package scram) and sets that, so it cannot reach the server
//     log or pg_stat_statements even with log_statement = 'all';
//   - no silent TLS downgrade: verify-full by default (DB_CA_BUNDLE, else the embedded RDS
//     authorities for RDS and Aurora endpoints, else the system roots); plaintext only when
//     the secret says "ssl": false, or with DB_ALLOW_PLAINTEXT=true when the server
//     refuses TLS (never after a failed certificate check);
//   - no password handed to a server that asks for it: logins answer only SCRAM-SHA-256;
//     a request for a cleartext or MD5 password fails with ErrDBInsecureAuth before
//     anything is sent, and is not taken for a wrong password (no AWSPREVIOUS retry),
//     unless DB_ALLOW_INSECURE_PASSWORD_AUTH=true (package dbsecret);
//   - secrets as AWS's functions accept them: lenient booleans, a port as an integral
//     float, "ssl" as "yes" or 1, masterarn as a name, an RDS-managed master secret
//     (rdsmaster.go), a user on a read replica; the pending secret keeps the owner's JSON;
//   - every step is safe to repeat and to resume after a crash at any point; createSecret
//     never generates a second password for one token, whatever the emulator accepts;
//   - only its own pending passwords: each ends in a check value keyed with the password
//     that logs in now, so one that whoever may write the secret put there is refused
//     before anything changes (provenance.go);
//   - finishSecret also removes AWSPENDING from the new current version;
//   - a warm instance reads each version's value once (memo.go): a later step uses what an
//     earlier one read when its own DescribeSecret names that version for the stage, so a
//     rotation makes 9 Secrets Manager calls, not 12 (versions never change on AWS);
//   - new passwords drawn in the function (crypto/rand, GetRandomPassword's policy and
//     variables, password.go): one call fewer per rotation, and the password crosses the
//     network only on its way into the secret;
//   - no confused deputy: the master is pinned (MASTER_SECRET_ARNS, master.go); before it
//     acts for the user a secret names, the secret's own credentials must log in as that
//     user on the server the master acts on; neither user of the pair may be privileged,
//     and the other user may hold nothing the named one lacks (guard.go);
//   - a way back: single-user setSecret tests the new password at once and puts back the
//     one it logged in with (single.go); testSecret never writes a password;
//   - the clone of the alternating strategy gets the same attributes, settings,
//     memberships and privileges as the original, re-synchronised at every rotation.
//
// The package knows nothing of Lambda, of how SDK clients are built or of the CLI: the
// entry point functions/rotator wires it with internal/awsclient and internal/lambdakit
// (JSON logs with the request id, embedded metrics through the Meter interface), and
// package driver (internal/rotation/driver) runs the four steps as Secrets Manager does,
// for `rotaudit rotate`, the tests and the benchmarks.
//
// # What the database users need
//
// Single user: the user can change its own password (every PostgreSQL login role can).
//
// Alternating users: the master (the secret at "masterarn", like RDS's master user) must
// have CREATEROLE (it creates name_clone and sets passwords) and must be able to grant
// everything the user has: own the objects or hold the privileges WITH GRANT OPTION, and
// hold ADMIN OPTION on group roles (up to PostgreSQL 15 CREATEROLE is enough). From
// PostgreSQL 16 on the master also needs ADMIN OPTION on the user itself (it has it on
// the roles it created; for a user another administrator made: GRANT user TO master WITH
// ADMIN OPTION, INHERIT FALSE, SET FALSE), and CREATEDB to give CREATEDB. REPLICATION or
// BYPASSRLS users need a superuser master; settings only a superuser may set are left
// off the clone with a warning. The user must not be a superuser, and should own nothing
// (ownership cannot be shared; grant through a group role), or set CLONE_MEMBER_OF_USER=true
// to make the clone a member of the user, as AWS's function does. `rotaudit doctor`
// checks each of these. See package pgrole.
//
// # Environment
//
// EnvVars lists every variable LoadConfig reads: AWS's SECRETS_MANAGER_ENDPOINT,
// EXCLUDE_CHARACTERS, PASSWORD_LENGTH, EXCLUDE_NUMBERS, EXCLUDE_PUNCTUATION,
// EXCLUDE_UPPERCASE, EXCLUDE_LOWERCASE, REQUIRE_EACH_INCLUDED_TYPE (password.go), and rotaudit's
// ROTATION_STRATEGY (single-user | alternating-users), TEST_QUERY (default SELECT 1, run
// read-only with the pending credentials), DB_CA_BUNDLE, DB_ALLOW_PLAINTEXT,
// ALLOW_PRIVILEGED_USERS, CLONE_MEMBER_OF_USER, MASTER_SECRET_ARNS and DB_ALLOW_INSECURE_PASSWORD_AUTH.
//
// # Files
//
// rotator.go takes an invocation and runs one step: create.go, set.go, verify.go
// (testSecret), finish.go. What the two strategies do differently sits behind the small
// strategy interface (strategy.go), one file each: single.go and alternating.go, with
// set's way back a named step. guard.go and master.go (rdsmaster.go for RDS) are the
// confused-deputy guard; secrets.go and connect.go reach Secrets Manager and PostgreSQL.
package rotation
