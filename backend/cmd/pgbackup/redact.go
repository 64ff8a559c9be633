package main

import (
	"io"
	"net/url"
	"strings"
	"sync"

	"github.com/helloagents/infra/backend/redact"
)

// secrets is the set of values that must never be written.
type secrets struct {
	mu     sync.Mutex
	values []string
	r      *strings.Replacer
}

// mask is the repository's one mask, so a masked value reads the same in
// every log.
const mask = redact.Mask

func newSecrets(values ...string) *secrets {
	s := &secrets{}
	for _, v := range values {
		s.add(v)
	}
	return s
}

func (s *secrets) add(v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values = append(s.values, v)
	// Also the URL-escaped form, as it appears inside a connection string.
	if e := url.QueryEscape(v); e != v {
		s.values = append(s.values, e)
	}
	var pairs []string
	for _, x := range s.values {
		pairs = append(pairs, x, mask)
	}
	s.r = strings.NewReplacer(pairs...)
}

// addFromURLArg registers the password of a URL given as a flag value
// (--target-url=postgres://u:pw@h/db or the bare URL after --target-url).
func (s *secrets) addFromURLArg(arg string) {
	if i := strings.Index(arg, "="); i >= 0 && strings.HasPrefix(arg, "-") {
		arg = arg[i+1:]
	}
	u, err := url.Parse(arg)
	if err != nil || u.Host == "" {
		return
	}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			s.add(pw)
		}
	}
	if pw := u.Query().Get("password"); pw != "" {
		s.add(pw)
	}
}

func (s *secrets) redact(text string) string {
	s.mu.Lock()
	r := s.r
	s.mu.Unlock()
	if r == nil {
		return text
	}
	return r.Replace(text)
}

// redactWriter filters secrets out of each Write. slog and fmt write a whole
// line per call, so a secret is never split across two writes.
type redactWriter struct {
	mu sync.Mutex
	w  io.Writer
	s  *secrets
}

func (r *redactWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := io.WriteString(r.w, r.s.redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
