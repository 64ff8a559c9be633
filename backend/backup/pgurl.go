package backup

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/helloagents/infra/backend/redact"
)

// DatabaseName returns the database named by a postgres:// URL.
func DatabaseName(rawURL string) (string, error) {
	u, err := parsePGURL(rawURL)
	if err != nil {
		return "", err
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.ContainsAny(db, "/\\") || db == "." || db == ".." {
		return "", errors.New("want postgres://user:password@host:port/dbname with a database name")
	}
	return db, nil
}

func parsePGURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, errors.New("want a URL postgres://user:password@host:port/dbname")
	}
	return u, nil
}

// urlPassword returns the password in a postgres URL, "" if none.
func urlPassword(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	if pw := u.Query().Get("password"); pw != "" {
		return pw
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		return pw
	}
	return ""
}

// RedactURL returns a connection string with every credential masked, for
// messages, whatever its form (URL user info, query values, key/value
// password=...): see redact.Value.
func RedactURL(rawURL string) string { return redact.Value(rawURL) }

// pgConn is how a PostgreSQL program is pointed at a database without its
// password on the command line (visible in ps): the URL without the password,
// and the password in PGPASSWORD.
type pgConn struct {
	url string
	env []string
}

func newPGConn(rawURL string) (pgConn, error) {
	u, err := parsePGURL(rawURL)
	if err != nil {
		return pgConn{}, err
	}
	pw := urlPassword(rawURL)
	q := u.Query()
	q.Del("password")
	u.RawQuery = q.Encode()
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	env := os.Environ()
	if pw != "" {
		env = append(env, "PGPASSWORD="+pw)
	}
	return pgConn{url: u.String(), env: env}, nil
}

// program returns the path of a PostgreSQL program: in binDir when set, else
// found on PATH.
func program(binDir, name string) string {
	if binDir != "" {
		return filepath.Join(binDir, name)
	}
	return name
}

// tail is an io.Writer keeping the last max bytes: a bounded copy of a child
// process's stderr for error messages.
type tail struct {
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return strings.TrimSpace(string(t.buf)) }

// exitError adds the program's stderr to a failed run's error.
func exitError(prog string, err error, stderr *tail) error {
	if s := stderr.String(); s != "" {
		return fmt.Errorf("%s: %w: %s", prog, err, s)
	}
	return fmt.Errorf("%s: %w", prog, err)
}
