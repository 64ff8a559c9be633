package main

import "testing"

func TestBorrowPassword(t *testing.T) {
	const db = "postgres://app:pw1@postgres:5432/app?sslmode=disable"
	tests := []struct{ target, want string }{
		{"postgres://app@postgres:5432/scratch", "postgres://app:pw1@postgres:5432/scratch"},
		{"postgres://app:own@postgres:5432/scratch", "postgres://app:own@postgres:5432/scratch"},
		{"postgres://other@postgres:5432/scratch", "postgres://other@postgres:5432/scratch"},
		{"postgres://app@elsewhere:5432/scratch", "postgres://app@elsewhere:5432/scratch"},
	}
	for _, tt := range tests {
		if got := borrowPassword(tt.target, db); got != tt.want {
			t.Errorf("borrowPassword(%q) = %q, want %q", tt.target, got, tt.want)
		}
	}
}
