package rotation

import (
	"context"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// closedConn is a session that records whether it was closed.
type closedConn struct {
	fakeConn
	closed bool
}

func (c *closedConn) Close(context.Context) error { c.closed = true; return nil }

func masterSecret(pw, host string) dbsecret.Secret {
	return dbsecret.Secret{Engine: "postgres", Host: host, Port: 5432, Username: "master", Password: pw, DBName: "rates"}
}

// TestMasterPoolKeepsOnlyWhatItMayHandBack: a kept master session goes only to the same
// login, once; it is closed when it has waited longer than masterIdleFor (by the wall
// clock, also when the clock went back), when the master's password changed, and when
// more than masterIdleMax wait.
func TestMasterPoolKeepsOnlyWhatItMayHandBack(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
	p := &masterPool{now: func() time.Time { return now }}
	a := masterSecret("pw-1", "db-a")
	conn := &closedConn{}
	p.put(ctx, a, conn)
	other := a
	other.DBName = "other"
	if db := p.take(ctx, other); db != nil {
		t.Fatal("a session handed to a login in another database")
	}
	if db := p.take(ctx, a); db != conn {
		t.Fatalf("take(same login) = %v, want the kept session", db)
	}
	if db := p.take(ctx, a); db != nil {
		t.Fatal("one kept session handed out twice")
	}
	if conn.closed {
		t.Fatal("the session handed out was closed")
	}

	// Waited too long: closed, not handed out.
	p.put(ctx, a, conn)
	now = now.Add(masterIdleFor + time.Second)
	if db := p.take(ctx, a); db != nil || !conn.closed {
		t.Fatalf("after %s idle: take = %v, closed %v; want nil and closed", masterIdleFor+time.Second, db, conn.closed)
	}
	// The wall clock went back (a thawed instance): closed as well.
	back := &closedConn{}
	p.put(ctx, a, back)
	now = now.Add(-time.Minute)
	if db := p.take(ctx, a); db != nil || !back.closed {
		t.Fatalf("after the clock went back: take = %v, closed %v; want nil and closed", db, back.closed)
	}

	// The master was rotated: the old password's session is closed by the new login's take.
	old, elsewhere := &closedConn{}, &closedConn{}
	p.put(ctx, a, old)
	p.put(ctx, masterSecret("pw-1", "db-b"), elsewhere)
	if db := p.take(ctx, masterSecret("pw-2", "db-a")); db != nil || !old.closed {
		t.Fatalf("new password: take = %v, old session closed %v; want nil and closed", db, old.closed)
	}
	if elsewhere.closed {
		t.Fatal("the session on another server was closed by a take for db-a")
	}

	// Bounded: the oldest goes first.
	p = &masterPool{now: func() time.Time { return now }}
	var conns []*closedConn
	for i := 0; i <= masterIdleMax; i++ {
		c := &closedConn{}
		conns = append(conns, c)
		p.put(ctx, masterSecret("pw", string(rune('a'+i))+".db"), c)
	}
	if !conns[0].closed || len(p.idle) != masterIdleMax {
		t.Fatalf("%d sessions kept: oldest closed %v, %d waiting; want it closed and %d waiting", masterIdleMax+1, conns[0].closed, len(p.idle), masterIdleMax)
	}
	for _, c := range conns[1:] {
		if c.closed {
			t.Fatal("a newer session was closed")
		}
	}
}
