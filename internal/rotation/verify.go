package rotation

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// testSecret proves the pending credentials work.
//
// Cases it handles:
//   - any number of repeats: the probe changes nothing (it runs in a read-only
//     transaction that is rolled back); a probe that fails names the user and the error.
//   - the database unreachable, or a transient error: fail, change nothing; the retry
//     tests again.
//   - the test query refused for a reason a retry will not change: fail and say so. It
//     writes no password: the way back belongs to setSecret, which ran the same test with
//     the password it had itself proved (single.go). A password put back here could only
//     come from the secret as it is now, which its writer may have changed since.
func (r *Rotator) testSecret(ctx context.Context, rd reads) error {
	pending, err := rd.pending()
	if err != nil {
		return err
	}
	return r.verify(ctx, rd, pending)
}

// verify logs in with s (through the step's early login when it was made with s) and
// runs the test query with it.
func (r *Rotator) verify(ctx context.Context, rd reads, s dbsecret.Secret) error {
	db, err := rd.login(ctx, r, s)
	if err != nil {
		return fmt.Errorf("log in with AWSPENDING: %w", err)
	}
	defer db.Close(context.WithoutCancel(ctx))
	if err := r.probe(ctx, db, s.Username); err != nil {
		return fmt.Errorf("%w: %s with the pending credentials: %w", ErrProbe, EnvTestQuery, err)
	}
	return nil
}

// probe runs the test query in a read-only transaction on db and reads all its rows.
func (r *Rotator) probe(ctx context.Context, db DB, user string) error {
	if b, ok := db.(batcher); ok {
		return r.probeBatch(ctx, db, b, user)
	}
	if _, err := db.Exec(ctx, "BEGIN READ ONLY"); err != nil {
		return dbError("begin", user, err)
	}
	rows, err := db.Query(ctx, r.Config.TestQuery)
	if err == nil {
		for rows.Next() {
		}
		rows.Close()
		err = rows.Err()
	}
	if _, rerr := db.Exec(ctx, "ROLLBACK"); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return dbError("probe", user, err)
	}
	return nil
}

// batcher is a session that can send several statements in one round trip (*pgx.Conn).
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// probeBatch is probe in one round trip: BEGIN READ ONLY, the test query and ROLLBACK
// pipelined. After a failure the server skips the rest of the pipeline, so the session
// is rolled back explicitly.
func (r *Rotator) probeBatch(ctx context.Context, db DB, b batcher, user string) error {
	batch := &pgx.Batch{}
	batch.Queue("BEGIN READ ONLY")
	batch.Queue(r.Config.TestQuery)
	batch.Queue("ROLLBACK")
	br := b.SendBatch(ctx, batch)
	_, err := br.Exec()
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			for rows.Next() {
			}
			rows.Close()
			err = rows.Err()
		}
	}
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		db.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		return dbError("probe", user, err)
	}
	return nil
}

// transient reports whether err may go away by itself: the database unreachable, TLS, a
// Secrets Manager failure, or a server error of the connection, resource or
// serialization classes.
func transient(err error) bool {
	if errors.Is(err, ErrDBPrivilege) || errors.Is(err, ErrDBInsecureAuth) {
		return false
	}
	if errors.Is(err, ErrDBUnreachable) || errors.Is(err, ErrDBTLS) || errors.Is(err, ErrSecretsManager) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && len(pg.Code) == 5 {
		switch pg.Code[:2] {
		case "08", "40", "53", "55", "57", "58", "XX":
			return true
		}
		return false
	}
	// Not a server answer: the connection broke mid-query.
	return true
}
