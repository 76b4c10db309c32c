package postgres

import (
	"context"
	"net/url"
	"testing"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/store/storetest"
)

// TestPostgresUnreachableIsUnavailable: once the server refuses
// connections, every call fails with EUNAVAILABLE, which the API answers
// with 503 and Retry-After, not with an internal error. The store reaches
// the server through a proxy on loopback; stopping the proxy ends the
// connections and leaves the port closed.
func TestPostgresUnreachableIsUnavailable(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(storetest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	p := storetest.StartProxy(t, u.Host)
	u.Host = p.Addr()
	s, _ := mustOpen(t, u.String(), nil)
	e := mustCreate(t, s, "alice", agenda.NewEvent{Title: "before", Start: at(9, 0)})

	p.Stop()
	_, err = s.GetEvent(ctx, "alice", e.ID)
	wantUnavailable(t, err)
	_, err = s.ListEvents(ctx, "alice", agenda.ListQuery{})
	wantUnavailable(t, err)
	_, _, err = s.CreateEvent(ctx, "alice", agenda.NewEvent{Title: "after", Start: at(9, 0)})
	wantUnavailable(t, err)
	_, err = s.UpdateEvent(ctx, "alice", e.ID, agenda.EventPatch{Title: ptr("after")})
	wantUnavailable(t, err)
	wantUnavailable(t, s.DeleteEvent(ctx, "alice", e.ID))
	wantUnavailable(t, s.Ping(ctx))
}

func wantUnavailable(t *testing.T, err error) {
	t.Helper()
	if agenda.ErrorCode(err) != agenda.EUNAVAILABLE {
		t.Fatalf("got %v, want %s", err, agenda.EUNAVAILABLE)
	}
}
