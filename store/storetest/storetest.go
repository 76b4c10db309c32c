// Package storetest holds what the store's tests share: the suite every
// engine runs (RunSuite) with its helpers, and a PostgreSQL database of a
// test's own: a new one with a random name, dropped when the test ends.
//
// It connects as AGENDA_TEST_POSTGRES_URL says, or else tries the local
// server (127.0.0.1:5432, database postgres) as the users postgres and root.
// When no server answers, tests skip, except under CI=true, where they fail:
// CI must run them.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/agenda-gpt/agenda/internal/testenv"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/mattn/go-sqlite3" // for SQLiteColumn
)

// EnvURL names the variable with the URL of a database to connect to as an
// administrator, one who may create databases.
const EnvURL = "AGENDA_TEST_POSTGRES_URL"

var candidates = []string{
	"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
	"postgres://root@127.0.0.1:5432/postgres?sslmode=disable",
}

var (
	adminOnce sync.Once
	adminURL  string
	adminErr  error
)

// admin returns the URL that worked, trying the candidates once per process.
func admin() (string, error) {
	adminOnce.Do(func() {
		urls := candidates
		if u := strings.TrimSpace(os.Getenv(EnvURL)); u != "" {
			urls = []string{u}
		}
		var errs []string
		for _, u := range urls {
			conn, err := connect(u)
			if err == nil {
				closeConn(conn)
				adminURL = u
				return
			}
			errs = append(errs, err.Error())
		}
		adminErr = fmt.Errorf("no PostgreSQL to test against (set %s to an administrator's URL): %s", EnvURL, strings.Join(errs, "; "))
	})
	return adminURL, adminErr
}

// Available skips the test, or fails it under CI=true, when there is no
// PostgreSQL server to test against.
func Available(t testing.TB) {
	t.Helper()
	if _, err := admin(); err != nil {
		testenv.Missing(t, "the PostgreSQL tests", "PostgreSQL on 127.0.0.1:5432 with trust auth (apt-get install postgresql)", err)
	}
}

// NewDatabase creates an empty database and returns its URL. The database is
// dropped when the test ends, even with connections still open.
func NewDatabase(t testing.TB) string {
	t.Helper()
	Available(t)
	base, _ := admin()
	name := "agenda_test_" + strings.ToLower(rand.Text())
	if err := exec(base, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := exec(base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Exec runs one statement on the database at databaseURL, for tests that
// reach under the store (to end a backend, to count rows).
func Exec(t testing.TB, databaseURL, sql string, args ...any) {
	t.Helper()
	if err := exec(databaseURL, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// QueryInt runs a query returning one integer.
func QueryInt(t testing.TB, databaseURL, sql string, args ...any) int64 {
	t.Helper()
	conn, err := connect(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer closeConn(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int64
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func exec(databaseURL, sql string, args ...any) error {
	conn, err := connect(databaseURL)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

func connect(databaseURL string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return pgx.Connect(ctx, databaseURL)
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn.Close(ctx)
}

// Column runs a query on the PostgreSQL database at databaseURL and returns
// the one column of text it selects.
func Column(t *testing.T, databaseURL, query string) []string {
	t.Helper()
	conn, err := connect(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer closeConn(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

// SQLiteColumn is Column for the SQLite file at path, read through a
// connection of its own.
func SQLiteColumn(t *testing.T, path, query string) []string {
	t.Helper()
	db, err := sql.Open("sqlite3", path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
