package promote

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/stacks/operation"
)

// TestPreviousImages replays update histories (written oldest first here,
// reversed into the newest-first order Stacks.History returns).
func TestPreviousImages(t *testing.T) {
	const (
		v1 = "r/b@sha256:1111111111111111111111111111111111111111111111111111111111111111"
		v2 = "r/b@sha256:2222222222222222222222222222222222222222222222222222222222222222"
		v3 = "r/b@sha256:3333333333333333333333333333333333333333333333333333333333333333"
		ph = "r/b@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	)
	type upd struct {
		result string
		a, b   string // images of regions a and b
	}
	tests := []struct {
		name    string
		history []upd // oldest first
		a, b    string
		want    map[string]string
		err     string
	}{
		{name: "after a promotion", history: []upd{{"succeeded", v1, v1}, {"succeeded", v2, v2}},
			a: v2, b: v2, want: map[string]string{"a": v1, "b": v1}},
		{name: "regions differ", history: []upd{{"succeeded", v1, v2}, {"succeeded", v3, v3}},
			a: v3, b: v3, want: map[string]string{"a": v1, "b": v2}},
		{name: "unchanged updates are skipped", history: []upd{{"succeeded", v1, v1}, {"succeeded", v2, v2}, {"succeeded", v2, v2}},
			a: v2, b: v2, want: map[string]string{"a": v1, "b": v1}},
		{name: "failed updates never served", history: []upd{{"succeeded", v1, v1}, {"succeeded", v2, v2}, {"failed", v3, v3}},
			a: v2, b: v2, want: map[string]string{"a": v1, "b": v1}},
		{name: "a rolled-back promotion is not a target", history: []upd{
			{"succeeded", v1, v1}, {"succeeded", v2, v2}, {"succeeded", v3, v2}, {"succeeded", v2, v2}},
			a: v2, b: v2, want: map[string]string{"a": v1, "b": v1}},
		{name: "rolling back twice steps back twice", history: []upd{
			{"succeeded", v1, v1}, {"succeeded", v2, v2}, {"succeeded", v3, v3}, {"succeeded", v2, v2}},
			a: v2, b: v2, want: map[string]string{"a": v1, "b": v1}},
		{name: "first release", history: []upd{{"succeeded", v1, v1}}, a: v1, b: v1, err: "no previous digest"},
		{name: "everything rolled back", history: []upd{{"succeeded", v1, v1}, {"succeeded", v2, v2}, {"succeeded", v1, v1}},
			a: v1, b: v1, err: "region a: no previous digest"},
		{name: "placeholder before", history: []upd{{"succeeded", ph, ph}, {"succeeded", v1, v1}}, a: v1, b: v1,
			err: "committed placeholder"},
		{name: "config not deployed", history: []upd{{"succeeded", v1, v1}, {"succeeded", v2, v2}}, a: v3, b: v2,
			err: "which no succeeded update"},
		{name: "no history", a: v1, b: v1, err: "which no succeeded update"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []operation.Update
			for _, u := range tt.history {
				b, _ := json.Marshal([]map[string]string{{"name": "a", "image": u.a}, {"name": "b", "image": u.b}})
				h = append([]operation.Update{{Kind: "update", Result: u.result, Config: map[string]string{contract.KeyRegions: string(b)}}}, h...)
			}
			h = append(h, operation.Update{Kind: "refresh", Result: "succeeded"})
			sel := []region{{Index: 0, Name: "a", Image: tt.a}, {Index: 1, Name: "b", Image: tt.b}}
			got, err := previousImages("production", h, sel)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) || got["a"] != tt.want["a"] || got["b"] != tt.want["b"] {
				t.Errorf("previous %v, want %v", got, tt.want)
			}
		})
	}
}
