package config

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

// withDatabaseField returns stack's committed config with one field of
// helloagents:database set (the other fields kept).
func withDatabaseField(t *testing.T, stack, field string, value any) map[string]string {
	t.Helper()
	raw := maps.Clone(stackRaw(t, stack))
	db := map[string]any{}
	if v, ok := raw["helloagents:database"]; ok {
		if err := json.Unmarshal([]byte(v), &db); err != nil {
			t.Fatal(err)
		}
	}
	db[field] = value
	b, err := json.Marshal(db)
	if err != nil {
		t.Fatal(err)
	}
	raw["helloagents:database"] = string(b)
	return raw
}

func TestPrimaryRegion(t *testing.T) {
	for _, tc := range []struct {
		name, stack string
		set         any // database.primaryRegion; nil: unset
		primary     string
		order       []string
	}{
		{"dev default", "dev", nil, "local", []string{"local"}},
		{"staging default", "staging", nil, "eu-west", []string{"eu-west"}},
		{"production default: the first region", "production", nil, "eu-west", []string{"eu-west", "us-east"}},
		{"production first region named", "production", "eu-west", "eu-west", []string{"eu-west", "us-east"}},
		{"production second region", "production", "us-east", "us-east", []string{"us-east", "eu-west"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := stackRaw(t, tc.stack)
			if tc.set != nil {
				raw = withDatabaseField(t, tc.stack, "primaryRegion", tc.set)
			}
			c, err := Parse(tc.stack, raw)
			if err != nil {
				t.Fatal(err)
			}
			if c.Database.PrimaryRegion != tc.primary || c.Primary().Name != tc.primary {
				t.Errorf("primary = %q (Primary() %q), want %q", c.Database.PrimaryRegion, c.Primary().Name, tc.primary)
			}
			var order []string
			for _, r := range c.FailoverOrder() {
				order = append(order, r.Name)
				if c.IsPrimary(r) != (r.Name == tc.primary) {
					t.Errorf("IsPrimary(%s) = %v", r.Name, c.IsPrimary(r))
				}
			}
			if strings.Join(order, ",") != strings.Join(tc.order, ",") {
				t.Errorf("failover order %v, want %v", order, tc.order)
			}
		})
	}
}

func TestPrimaryRegionValidation(t *testing.T) {
	for _, tc := range []struct {
		name, stack string
		set         any
		want        string
	}{
		{"not a region", "production", "ap-south",
			`helloagents:database.primaryRegion: invalid value "ap-south"; allowed: the name of a configured region: eu-west, us-east`},
		{"dev has only its one region", "dev", "eu-west",
			`helloagents:database.primaryRegion: invalid value "eu-west"; allowed: the name of a configured region: local`},
		{"wrong case", "production", "EU-West",
			`helloagents:database.primaryRegion: invalid value "EU-West"`},
		{"not a string", "production", 1,
			`helloagents:database.primaryRegion: invalid value 1; allowed: a string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.stack, withDatabaseField(t, tc.stack, "primaryRegion", tc.set))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("a broken region causes no follow-on error", func(t *testing.T) {
		raw := withDatabaseField(t, "production", "primaryRegion", "us-east")
		var regions []map[string]any
		if err := json.Unmarshal([]byte(raw["helloagents:regions"]), &regions); err != nil {
			t.Fatal(err)
		}
		regions[1]["name"] = 7
		b, _ := json.Marshal(regions)
		raw["helloagents:regions"] = string(b)
		_, err := Parse("production", raw)
		if err == nil || !strings.Contains(err.Error(), "helloagents:regions[1].name") {
			t.Fatalf("want the region's own error, got %v", err)
		}
		if strings.Contains(err.Error(), "primaryRegion") {
			t.Errorf("follow-on error about primaryRegion:\n%v", err)
		}
	})
}
