package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/agenda-gpt/agenda"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// copyBatch is how many rows Copy reads and inserts at a time; a batch of
// events stays far below PostgreSQL's 65535 parameters per statement.
const copyBatch = 500

// CopyStats counts the rows Copy wrote: new ones, and for events also older
// copies it replaced; and the rows it had to repair or leave behind.
type CopyStats struct {
	Events          int64
	IdempotencyKeys int64
	Sessions        int64
	// Repaired counts rows whose text PostgreSQL cannot store as it was
	// (NUL characters, invalid UTF-8; older versions let SQLite keep
	// them): they were copied with NULs removed and invalid bytes replaced
	// by U+FFFD.
	Repaired int64
	// Skipped counts rows left behind because such text is in what
	// identifies them (an id, a request id, a session token), which
	// repairing would make a different row.
	Skipped int64
}

// Copy copies src's events, unexpired idempotency keys and unexpired
// sessions into dst, as one transaction of dst: it is all there or none of
// it. It is meant for moving from SQLite to PostgreSQL, and may be run again:
// an event dst already has is replaced only by a newer version of itself
// (by updated time), and keys and sessions dst already has are kept, so
// nothing is duplicated. Events deleted from src after an earlier copy stay
// in dst. report, if not nil, hears one line for each row repaired or
// skipped (see CopyStats), naming it.
//
// The copy is not announced to subscribers: browsers show it when they next
// load a snapshot. Copy before starting the replicas on dst.
func Copy(ctx context.Context, dst, src *Store, report func(string)) (CopyStats, error) {
	if report == nil {
		report = func(string) {}
	}
	var st CopyStats
	now := src.now()
	err := dst.engine.Write(ctx, func(tx *gorm.DB) (*agenda.Change, error) {
		c := copier{ctx: ctx, tx: tx, st: &st, report: report}
		newer := clause.OnConflict{
			Columns:   []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns(eventColumns.update),
			Where: clause.Where{Exprs: []clause.Expression{clause.Expr{
				SQL: "events.user_id = excluded.user_id AND events.updated_unix < excluded.updated_unix"}}},
		}
		var err error
		if st.Events, err = copyRows[eventRow](c, src.db.Order("id"), newer); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		keep := clause.OnConflict{DoNothing: true}
		keys := src.db.Where("created_unix >= ?", idempotencyCutoff(now)).Order("user_id, request_id")
		if st.IdempotencyKeys, err = copyRows[idempotencyRow](c, keys, keep); err != nil {
			return nil, fmt.Errorf("idempotency keys: %w", err)
		}
		sessions := src.db.Where("expiry_unix > ?", now.Unix()).Order("token")
		if st.Sessions, err = copyRows[sessionRow](c, sessions, keep); err != nil {
			return nil, fmt.Errorf("sessions: %w", err)
		}
		return nil, nil
	})
	if err != nil {
		return CopyStats{}, fmt.Errorf("store: copy: %w", err)
	}
	return st, nil
}

// copier is what every table's copy shares.
type copier struct {
	ctx    context.Context
	tx     *gorm.DB
	st     *CopyStats
	report func(string)
}

// copyRows inserts every row query finds into c.tx, a batch at a time, and
// returns how many rows the inserts wrote.
func copyRows[T any](c copier, query *gorm.DB, onConflict clause.OnConflict) (int64, error) {
	sch, err := schema.Parse(new(T), &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		return 0, err
	}
	rows, err := query.WithContext(c.ctx).Model(new(T)).Rows()
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
		res := c.tx.Clauses(onConflict).Create(&batch)
		written += res.RowsAffected
		batch = batch[:0]
		return res.Error
	}
	for rows.Next() {
		var r T
		if err := query.ScanRows(rows, &r); err != nil {
			return written, err
		}
		if !c.storable(sch, &r) {
			continue
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

// storable repairs the text fields of *row that not every engine can keep
// (see agenda.CheckText), or reports false when such text is in a field
// that identifies the row, which is then left behind.
func (c copier) storable(sch *schema.Schema, row any) bool {
	v := reflect.ValueOf(row).Elem()
	var key []string
	for _, f := range sch.PrimaryFields {
		if f.Tag.Get("store") == "secret" {
			continue // a session token is a credential: never printed
		}
		key = append(key, fmt.Sprintf("%s=%q", f.DBName, v.FieldByIndex(f.StructField.Index).Interface()))
	}
	var repaired []string
	for _, f := range sch.Fields {
		fv := v.FieldByIndex(f.StructField.Index)
		if fv.Kind() != reflect.String || agenda.CheckText(f.DBName, fv.String()) == nil {
			continue
		}
		if role := f.Tag.Get("store"); f.PrimaryKey || role == "meta" || role == "secret" {
			c.st.Skipped++
			c.report(fmt.Sprintf("skipped %s %s: its %s is not valid UTF-8 text without NUL characters", sch.Table, strings.Join(key, " "), f.DBName))
			return false
		}
		fv.SetString(strings.ReplaceAll(strings.ToValidUTF8(fv.String(), "\uFFFD"), "\x00", ""))
		repaired = append(repaired, f.DBName)
	}
	if len(repaired) > 0 {
		c.st.Repaired++
		c.report(fmt.Sprintf("repaired %s %s: removed NUL characters and replaced invalid UTF-8 with U+FFFD in %s", sch.Table, strings.Join(key, " "), strings.Join(repaired, ", ")))
	}
	return true
}
