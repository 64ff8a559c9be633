// Package dbfixture fills a test database with varied content and takes a
// fingerprint of it (every table's row count and a checksum of its rows), so
// a backup test can prove that a restore reproduced the database.
package dbfixture

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Seed creates tables of several types (with a foreign key, a second schema,
// a view, a function, an empty table) and rows*5 rows in all.
func Seed(t testing.TB, url string, rows int) {
	t.Helper()
	Exec(t, url, fmt.Sprintf(`
CREATE TABLE courses (id bigserial PRIMARY KEY, title text NOT NULL, body text, tags jsonb,
  price numeric(10,2), created timestamptz NOT NULL DEFAULT '2026-01-01T00:00:00Z');
INSERT INTO courses (title, body, tags, price)
  SELECT 'course ' || g, repeat(md5(g::text), 8), jsonb_build_object('n', g, 'even', g %% 2 = 0), g / 7.0
  FROM generate_series(1, %[1]d) g;
CREATE TABLE lessons (id int PRIMARY KEY, course_id bigint NOT NULL REFERENCES courses(id), data bytea, done boolean);
INSERT INTO lessons SELECT g, (g %% %[1]d) + 1, decode(md5(g::text), 'hex'), g %% 3 = 0 FROM generate_series(1, %[1]d * 4) g;
CREATE INDEX lessons_course ON lessons (course_id);
CREATE TABLE empty_table (x int);
CREATE SCHEMA app;
CREATE TABLE app.settings (k text PRIMARY KEY, v text);
INSERT INTO app.settings VALUES ('quote', 'it''s "quoted", with, commas'), ('unicode', 'héllo wörld ✓'), ('null', NULL);
CREATE VIEW course_titles AS SELECT id, title FROM courses;
CREATE FUNCTION app.lesson_count(c bigint) RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM lessons WHERE course_id = c';
`, rows))
}

// Blobs adds a table "blobs" of about mib MiB of incompressible bytes, so
// that a dump spans several multipart parts.
func Blobs(t testing.TB, url string, mib int) {
	t.Helper()
	Exec(t, url, fmt.Sprintf(`
CREATE TABLE IF NOT EXISTS blobs (id int PRIMARY KEY, data bytea NOT NULL);
INSERT INTO blobs SELECT g, decode((SELECT string_agg(md5(g::text || '/' || i::text), '') FROM generate_series(1, 64) i), 'hex')
FROM generate_series(1, %d) g;`, mib*1024))
}

// Exec runs SQL statements against url.
func Exec(t testing.TB, url, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("dbfixture: connect: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		t.Fatalf("dbfixture: exec: %v", err)
	}
}

// Fingerprint maps each user table (schema.name) to "rows=<n> md5=<checksum
// of its rows in text form, sorted>", plus each sequence's last value and the
// names of views and functions.
func Fingerprint(t testing.TB, url string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("dbfixture: connect: %v", err)
	}
	defer c.Close(ctx)
	out := map[string]string{}
	for _, r := range relations(ctx, t, c) {
		out[r.schema+"."+r.name] = r.fingerprint(ctx, t, c)
	}
	out["functions"] = functions(ctx, t, c)
	return out
}

// relation is a table ("r"), view ("v") or sequence ("S").
type relation struct{ schema, name, kind string }

// relations lists the user tables, views and sequences by schema and name.
func relations(ctx context.Context, t testing.TB, c *pgx.Conn) []relation {
	t.Helper()
	rows, err := c.Query(ctx, `
SELECT n.nspname, c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
  AND c.relkind IN ('r', 'v', 'S') ORDER BY 1, 2`)
	if err != nil {
		t.Fatalf("dbfixture: list tables: %v", err)
	}
	var rels []relation
	for rows.Next() {
		var r relation
		if err := rows.Scan(&r.schema, &r.name, &r.kind); err != nil {
			t.Fatalf("dbfixture: %v", err)
		}
		rels = append(rels, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("dbfixture: %v", err)
	}
	return rels
}

// fingerprint is a table's row count and checksum, a sequence's last value,
// or "view".
func (r relation) fingerprint(ctx context.Context, t testing.TB, c *pgx.Conn) string {
	t.Helper()
	id := pgx.Identifier{r.schema, r.name}.Sanitize()
	name := r.schema + "." + r.name
	switch r.kind {
	case "r":
		var n int64
		var sum *string
		q := fmt.Sprintf(`SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) FROM %s t`, id)
		if err := c.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			t.Fatalf("dbfixture: checksum %s: %v", name, err)
		}
		s := "empty"
		if sum != nil {
			s = *sum
		}
		return fmt.Sprintf("rows=%d md5=%s", n, s)
	case "S":
		var last int64
		if err := c.QueryRow(ctx, "SELECT last_value FROM "+id).Scan(&last); err != nil {
			t.Fatalf("dbfixture: sequence %s: %v", name, err)
		}
		return fmt.Sprintf("sequence last=%d", last)
	default:
		return "view"
	}
}

// functions names the user functions (schema.name), sorted.
func functions(ctx context.Context, t testing.TB, c *pgx.Conn) string {
	t.Helper()
	var fns string
	if err := c.QueryRow(ctx, `SELECT coalesce(string_agg(n.nspname || '.' || p.proname, ',' ORDER BY n.nspname, p.proname), '')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')`).Scan(&fns); err != nil {
		t.Fatalf("dbfixture: functions: %v", err)
	}
	return fns
}
