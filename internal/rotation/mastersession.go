package rotation

import (
	"context"
	"sync"
	"time"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// The master's session, kept for the next setSecret on a warm instance.
//
// Alternating users' setSecret is the only step that acts as the master, once per
// rotation; on a new session its transaction pays for the login and for loading the
// catalogs it reads, about half of the step. A fleet rotates the users of one database
// one after another (and an operator's `rotaudit rotate` does the same), so a session
// the last setSecret committed is kept for the next one, for a short while:
//   - it is taken only by a setSecret whose master secret, read and checked as always,
//     holds exactly the value it logged in with (user, password, host, port, database
//     and TLS choice); a session of the same user on the same server with another
//     password (the master was rotated) is closed;
//   - only after a COMMIT: a session that saw any failure is closed, never kept;
//   - for masterIdleFor by the wall clock (a frozen instance's monotonic clock stands
//     still), and the server ends it after masterServerIdle (idle_session_timeout,
//     PostgreSQL 14 and later), so a frozen or reaped instance leaves no session behind;
//   - its first statement, BEGIN, is bounded by masterReuseWait: a session the network
//     dropped without a word is given up and the master logs in anew;
//   - at most masterIdleMax sessions, the oldest closed first.
//
// The guard runs in full before a kept session is taken, in the same order: it is the
// master's login that is saved, not any check.
const (
	masterIdleFor    = 45 * time.Second
	masterServerIdle = "60s"
	masterReuseWait  = 3 * time.Second
	masterIdleMax    = 4
)

// masterPool holds the master sessions kept between setSecret steps.
type masterPool struct {
	mu   sync.Mutex
	idle []idleMaster
	// now is the wall clock; tests set it.
	now func() time.Time
}

type idleMaster struct {
	s     dbsecret.Secret
	db    DB
	since time.Time
}

func (p *masterPool) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now().Round(0) // the wall clock, without the monotonic reading
}

// take removes and returns a kept session made with exactly s, or nil. Sessions past
// masterIdleFor, and those of s's user and server made with other credentials, are
// closed on the way.
func (p *masterPool) take(ctx context.Context, s dbsecret.Secret) DB {
	p.mu.Lock()
	now := p.clock()
	var got DB
	var drop []DB
	keep := p.idle[:0]
	for _, m := range p.idle {
		switch {
		case now.Sub(m.since) > masterIdleFor || now.Before(m.since):
			drop = append(drop, m.db)
		case sameLogin(m.s, s) && got == nil:
			got = m.db
		case m.s.Username == s.Username && m.s.SameServer(s):
			drop = append(drop, m.db)
		default:
			keep = append(keep, m)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	p.mu.Unlock()
	for _, db := range drop {
		db.Close(context.WithoutCancel(ctx))
	}
	return got
}

// put keeps db, a master session made with s whose last transaction committed.
func (p *masterPool) put(ctx context.Context, s dbsecret.Secret, db DB) {
	p.mu.Lock()
	p.idle = append(p.idle, idleMaster{s: s, db: db, since: p.clock()})
	var drop DB
	if len(p.idle) > masterIdleMax {
		drop = p.idle[0].db
		p.idle = append(p.idle[:0], p.idle[1:]...)
	}
	p.mu.Unlock()
	if drop != nil {
		drop.Close(context.WithoutCancel(ctx))
	}
}

// masterBegin returns a master session inside a new transaction: a kept one when it
// answers BEGIN within masterReuseWait, else a new login. fresh reports a new login.
func (r *Rotator) masterBegin(ctx context.Context, master dbsecret.Secret) (db DB, fresh bool, err error) {
	if db := r.masters.take(ctx, master); db != nil {
		bctx, cancel := context.WithTimeout(ctx, masterReuseWait)
		_, err := db.Exec(bctx, "BEGIN")
		cancel()
		if err == nil {
			return db, false, nil
		}
		db.Close(context.WithoutCancel(ctx))
		r.logger().InfoContext(ctx, "kept master session unusable: logging in anew", "username", master.Username, "error", err.Error())
	}
	db, err = r.connect(ctx, master)
	if err != nil {
		return nil, false, err
	}
	if _, err := db.Exec(ctx, "BEGIN"); err != nil {
		db.Close(context.WithoutCancel(ctx))
		return nil, false, dbError("begin", master.Username, err)
	}
	return db, true, nil
}

// boundIdle asks the server to end the session after masterServerIdle idle, from
// PostgreSQL 14 (which has idle_session_timeout); older servers skip it. Inside the
// master's transaction: it holds from the COMMIT on.
func boundIdle(ctx context.Context, db DB) error {
	_, err := db.Exec(ctx, "SELECT set_config('idle_session_timeout', $1, false) WHERE current_setting('server_version_num')::int >= 140000", masterServerIdle)
	return err
}
