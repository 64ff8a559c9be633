package main

import (
	"strings"
	"testing"
	"time"
)

func TestRedactWriter(t *testing.T) {
	s := newSecrets("hunter2", "", "p@ss/word")
	s.addFromURLArg("--target-url=postgres://u:tgt-secret@h/db")
	s.addFromURLArg("postgres://u@h/db?password=qsecret")
	var b strings.Builder
	w := &redactWriter{w: &b, s: s}
	in := "a hunter2 b p%40ss%2Fword c p@ss/word d tgt-secret e qsecret f"
	n, err := w.Write([]byte(in))
	if err != nil || n != len(in) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(in))
	}
	for _, secret := range []string{"hunter2", "p%40ss%2Fword", "p@ss/word", "tgt-secret", "qsecret"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("%q survived: %s", secret, b.String())
		}
	}
	if !strings.HasPrefix(b.String(), "a [REDACTED] b") || !strings.HasSuffix(b.String(), " f") {
		t.Errorf("text around the secrets changed: %s", b.String())
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Second:              "5s",
		3 * time.Minute:              "3m",
		26*time.Hour + 4*time.Minute: "26h04m",
		72 * time.Hour:               "3d",
	} {
		if got := age(d); got != want {
			t.Errorf("age(%v) = %q, want %q", d, got, want)
		}
	}
}
