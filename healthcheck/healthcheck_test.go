package healthcheck

import (
	"slices"
	"testing"
)

func TestExpectedCodes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		codes   []int
		status  int
		healthy bool
		joined  string
	}{
		{"default accepts 200", Default().ExpectedCodes, 200, true, "200"},
		{"default refuses 204", Default().ExpectedCodes, 204, false, "200"},
		{"default refuses 503", Default().ExpectedCodes, 503, false, "200"},
		{"two codes", []int{200, 204}, 204, true, "200,204"},
		{"none", nil, 200, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Settings{ExpectedCodes: tc.codes}
			if got := s.Healthy(tc.status); got != tc.healthy {
				t.Errorf("Healthy(%d) = %v, want %v", tc.status, got, tc.healthy)
			}
			if got := s.ExpectedCodesString(); got != tc.joined {
				t.Errorf("ExpectedCodesString() = %q, want %q", got, tc.joined)
			}
			if got := s.ExpectedCodeStrings(); len(got) != len(tc.codes) || (len(got) > 0 && !slices.Contains(got, "200")) {
				t.Errorf("ExpectedCodeStrings() = %q for %v", got, tc.codes)
			}
		})
	}
}

// TestDefaultIsValid: the defaults obey the rules the stack validation
// applies (timeout shorter than interval, retries 1..10).
func TestDefaultIsValid(t *testing.T) {
	d := Default()
	if d.Timeout >= d.Interval || d.Retries < 1 || d.Retries > 10 || d.StartPeriod < 0 || len(d.ExpectedCodes) == 0 {
		t.Errorf("Default() = %+v breaks the validation rules", d)
	}
}
