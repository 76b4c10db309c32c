package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/agenda-gpt/agenda"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// idempotencyRow remembers a create request that carried a request_id. The
// primary key (user_id, request_id) is what makes a retry return the first
// result: two attempts cannot both insert it, in one process or many.
type idempotencyRow struct {
	UserID      string `gorm:"primaryKey"`
	RequestID   string `gorm:"primaryKey"`
	RequestHash string `gorm:"not null"` // of the event's content; see requestHash
	EventID     string `gorm:"not null"`
	Response    string `gorm:"not null"` // the eventRow as first created, as JSON
	CreatedUnix int64  `gorm:"not null;index"`
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// idempotencyCutoff is the creation time before which a key has expired.
func idempotencyCutoff(now time.Time) int64 {
	return now.Add(-agenda.IdempotencyHours * time.Hour).Unix()
}

// claimRequest records, inside the create's transaction, that requestID
// creates row. When an unexpired earlier request holds the id it returns that
// request's event as first created (even if it has since been changed or
// deleted), or ECONFLICT when the content differs.
//
// It inserts first and looks second: on PostgreSQL a concurrent attempt waits
// on the key, finds it committed and replays it, where check-then-insert
// would let both create.
func claimRequest(tx *gorm.DB, userID, requestID string, row eventRow, now time.Time) (*eventRow, error) {
	response, err := json.Marshal(row)
	if err != nil {
		return nil, err
	}
	claim := idempotencyRow{
		UserID:      userID,
		RequestID:   requestID,
		RequestHash: requestHash(row),
		EventID:     row.ID,
		Response:    string(response),
		CreatedUnix: now.Unix(),
	}
	mine := tx.Where("user_id = ? AND request_id = ?", userID, requestID)
	// One statement claims a free key, or takes over an expired one not
	// yet pruned; a live key is left alone (no row affected).
	res := tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}, {Name: "request_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"request_hash", "event_id", "response", "created_unix"}),
		Where: clause.Where{Exprs: []clause.Expression{
			clause.Lt{Column: clause.Column{Table: "idempotency_keys", Name: "created_unix"}, Value: idempotencyCutoff(now)},
		}},
	}).Create(&claim)
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 1 {
		return nil, nil
	}

	var prev idempotencyRow
	if err := mine.Session(&gorm.Session{}).Take(&prev).Error; err != nil {
		return nil, err
	}
	if prev.RequestHash != claim.RequestHash {
		return nil, agenda.Errorf(agenda.ECONFLICT,
			"request_id %q was already used for a different event; make up a new request_id for each new event", requestID)
	}
	var first eventRow
	if err := json.Unmarshal([]byte(prev.Response), &first); err != nil {
		return nil, fmt.Errorf("read the stored response to request %q: %w", requestID, err)
	}
	return &first, nil
}

// requestHash identifies what a create request asks for, after validation:
// the same event sent again, even with another UTC offset for the same
// instant or with spaces around the title, is the same request. It covers
// every content column of eventRow (all but its `store:"meta"` ones), so a
// column added to the row is part of the request without a change here.
func requestHash(r eventRow) string {
	v := reflect.ValueOf(r)
	content := make([]any, len(eventColumns.content))
	for i, f := range eventColumns.content {
		content[i] = v.FieldByIndex(f).Interface()
	}
	b, _ := json.Marshal(content)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
