package store

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// copyBatch is how many rows Copy reads and inserts at a time; a batch of
// events stays far below PostgreSQL's 65535 parameters per statement.
const copyBatch = 500

// CopyStats counts the rows Copy wrote: new ones, and for events also older
// copies it replaced.
type CopyStats struct {
	Events          int64
	IdempotencyKeys int64
	Sessions        int64
}

// Copy copies src's events, unexpired idempotency keys and unexpired
// sessions into dst, as one transaction of dst: it is all there or none of
// it. It is meant for moving from SQLite to PostgreSQL, and may be run again:
// an event dst already has is replaced only by a newer version of itself
// (by updated time), and keys and sessions dst already has are kept, so
// nothing is duplicated. Events deleted from src after an earlier copy stay
// in dst.
//
// The copy is not announced to subscribers: browsers show it when they next
// load a snapshot. Copy before starting the replicas on dst.
func Copy(ctx context.Context, dst, src *Store) (CopyStats, error) {
	var st CopyStats
	now := src.now()
	err := dst.writer.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		newer := clause.OnConflict{
			Columns:   []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns(slices.Sorted(maps.Keys(eventRow{}.changes()))),
			Where: clause.Where{Exprs: []clause.Expression{clause.Expr{
				SQL: "events.user_id = excluded.user_id AND events.updated_unix < excluded.updated_unix"}}},
		}
		if st.Events, err = copyRows[eventRow](ctx, tx, src.reader.Order("id"), newer); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		keep := clause.OnConflict{DoNothing: true}
		keys := src.reader.Where("created_unix >= ?", idempotencyCutoff(now)).Order("user_id, request_id")
		if st.IdempotencyKeys, err = copyRows[idempotencyRow](ctx, tx, keys, keep); err != nil {
			return fmt.Errorf("idempotency keys: %w", err)
		}
		sessions := src.reader.Where("expiry_unix > ?", now.Unix()).Order("token")
		if st.Sessions, err = copyRows[sessionRow](ctx, tx, sessions, keep); err != nil {
			return fmt.Errorf("sessions: %w", err)
		}
		return nil
	})
	if err != nil {
		return CopyStats{}, fmt.Errorf("store: copy: %w", err)
	}
	return st, nil
}

// copyRows inserts every row query finds into tx, a batch at a time, and
// returns how many rows the inserts wrote.
func copyRows[T any](ctx context.Context, tx *gorm.DB, query *gorm.DB, onConflict clause.OnConflict) (int64, error) {
	rows, err := query.WithContext(ctx).Model(new(T)).Rows()
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var written int64
	batch := make([]T, 0, copyBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res := tx.Clauses(onConflict).Create(&batch)
		written += res.RowsAffected
		batch = batch[:0]
		return res.Error
	}
	for rows.Next() {
		var r T
		if err := query.ScanRows(rows, &r); err != nil {
			return written, err
		}
		if batch = append(batch, r); len(batch) == copyBatch {
			if err := flush(); err != nil {
				return written, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return written, err
	}
	return written, flush()
}
