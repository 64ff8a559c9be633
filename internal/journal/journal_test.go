package journal

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesAtomically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "run.json")
	for _, v := range []map[string]int{{"step": 1}, {"step": 2}} {
		if err := Write(path, v); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]int
		if err := json.Unmarshal(b, &got); err != nil || got["step"] != v["step"] {
			t.Fatalf("read back %q (%v), want %v", b, err, v)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Errorf("directory holds %v (%v), want only the journal: no temporary file left", entries, err)
	}
}

func TestWriteRefusesWhatJSONCannotEncode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	if err := Write(path, map[string]any{"f": func() {}}); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err %v, want an encode error naming %s", err, path)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a failed write left %s behind (%v)", path, err)
	}
}
