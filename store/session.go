package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/alexedwards/scs/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// sessionRow is a browser session of the web UI, kept in the database so
// that sessions survive restarts and are shared by replicas.
type sessionRow struct {
	Token      string `gorm:"primaryKey" store:"secret"`
	Data       []byte `gorm:"not null"`
	ExpiryUnix int64  `gorm:"not null;index"`
}

func (sessionRow) TableName() string { return "sessions" }

// Sessions returns the session store for scs.SessionManager. It also
// implements scs.CtxStore, which the manager prefers.
func (s *Store) Sessions() scs.Store { return sessionStore{s} }

type sessionStore struct{ s *Store }

var _ scs.CtxStore = sessionStore{}

// FindCtx returns the data of an unexpired session.
func (ss sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var r sessionRow
	err := ss.s.db.WithContext(ctx).
		Where("token = ? AND expiry_unix > ?", token, ss.s.now().Unix()).
		Take(&r).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("store: find session: %w", err)
	}
	return r.Data, true, nil
}

// CommitCtx adds the session or replaces its data and expiry.
func (ss sessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if b == nil {
		b = []byte{} // the column is NOT NULL
	}
	r := sessionRow{Token: token, Data: b, ExpiryUnix: expiry.Unix()}
	err := ss.s.engine.Write(ctx, func(tx *gorm.DB) (*agenda.Change, error) {
		return nil, tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "token"}},
			DoUpdates: clause.AssignmentColumns([]string{"data", "expiry_unix"}),
		}).Create(&r).Error
	})
	if err != nil {
		return fmt.Errorf("store: commit session: %w", err)
	}
	return nil
}

// DeleteCtx removes the session; a missing one is not an error.
func (ss sessionStore) DeleteCtx(ctx context.Context, token string) error {
	err := ss.s.engine.Write(ctx, func(tx *gorm.DB) (*agenda.Change, error) {
		return nil, tx.Where("token = ?", token).Delete(&sessionRow{}).Error
	})
	if err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

func (ss sessionStore) Find(token string) ([]byte, bool, error) {
	return ss.FindCtx(context.Background(), token)
}

func (ss sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return ss.CommitCtx(context.Background(), token, b, expiry)
}

func (ss sessionStore) Delete(token string) error {
	return ss.DeleteCtx(context.Background(), token)
}
