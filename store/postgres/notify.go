package postgres

import (
	"encoding/json"
	"fmt"

	"github.com/agenda-gpt/agenda"
	"gorm.io/gorm"
)

// changesChannel is the PostgreSQL channel every replica announces its
// changes on and listens to. Channels are per database, so replicas share
// one exactly when they share the database.
const changesChannel = "agenda_changes"

// maxNotifyPayload is the largest payload pg_notify accepts: it must be
// shorter than 8000 bytes in the default build.
const maxNotifyPayload = 7999

// notice is a change as sent through PostgreSQL. Event is the event's wire
// form (as the API and the WebSocket send it) when the whole notice fits in
// a notification, which holds for all but events with thousands of
// characters of notes. A notice without it names the event, and the listener
// reads the event by id: by then it may have changed again, but a later
// notice for it follows, so clients still end in the committed state. A
// deletion needs no more than the id.
type notice struct {
	Type   agenda.ChangeType `json:"type"`
	UserID string            `json:"user_id"`
	ID     string            `json:"id"`
	Event  *agenda.Event     `json:"event,omitempty"`
}

// encodeNotice returns c's payload, with the event when it fits.
func encodeNotice(c agenda.Change) (string, error) {
	n := notice{Type: c.Type, UserID: c.Event.UserID, ID: c.Event.ID, Event: &c.Event}
	b, err := json.Marshal(n)
	if err != nil {
		return "", err
	}
	if len(b) > maxNotifyPayload {
		n.Event = nil
		if b, err = json.Marshal(n); err != nil {
			return "", err
		}
	}
	if len(b) > maxNotifyPayload {
		// Only a user id thousands of bytes long could do this; OIDC
		// subjects have at most 255 characters.
		return "", fmt.Errorf("the change notification for user %.40q… is %d bytes, over PostgreSQL's limit", c.Event.UserID, len(b))
	}
	return string(b), nil
}

// decodeNotice reads a payload back. The change's Event is complete when
// complete is true; otherwise it carries only ID and UserID.
func decodeNotice(payload string) (c agenda.Change, complete bool, err error) {
	var n notice
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		return agenda.Change{}, false, err
	}
	switch n.Type {
	case agenda.EventCreated, agenda.EventUpdated, agenda.EventDeleted:
	default:
		return agenda.Change{}, false, fmt.Errorf("unknown change type %q", n.Type)
	}
	if n.UserID == "" || n.ID == "" {
		return agenda.Change{}, false, fmt.Errorf("no user or event id")
	}
	c.Type = n.Type
	if n.Event != nil {
		c.Event, complete = *n.Event, true
	}
	c.Event.ID, c.Event.UserID = n.ID, n.UserID
	return c, complete, nil
}

// notify announces c from inside tx: PostgreSQL delivers it to every
// listener if tx commits, after the changes committed before it, and never if
// it rolls back.
func notify(tx *gorm.DB, c agenda.Change) error {
	payload, err := encodeNotice(c)
	if err != nil {
		return err
	}
	return tx.Exec("SELECT pg_notify(?, ?)", changesChannel, payload).Error
}
