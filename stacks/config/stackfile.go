package config

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"gopkg.in/yaml.v3"
)

// ReadStackFile reads a Pulumi.<stack>.yaml file into the raw form Parse
// takes: full key -> string value, objects and lists as JSON text. Encrypted
// values ({secure: ...}) are left out: they are set per machine with
// `pulumi config set --secret` and arrive decrypted only inside Pulumi.
// Tests (and the policy pack's real-graph tests) use it to prove the
// committed stack files are valid.
func ReadStackFile(path string) (map[string]string, error) {
	raw, _, err := ReadStackFileEncrypted(path)
	return raw, err
}

// ReadStackFileEncrypted is ReadStackFile that also returns the keys whose
// values are encrypted ({secure: ...}, sorted): they are set, but only
// Pulumi can read them, so `make validate` checks them for presence only.
func ReadStackFileEncrypted(path string) (raw map[string]string, encrypted []string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read stack file: %w", err)
	}
	var file struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		return nil, nil, fmt.Errorf("parse stack file %s: %w", path, err)
	}
	raw = map[string]string{}
	for k, v := range file.Config {
		switch v := v.(type) {
		case string:
			raw[k] = v
		case map[string]any:
			if _, secure := v["secure"]; secure && len(v) == 1 {
				encrypted = append(encrypted, k)
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				return nil, nil, fmt.Errorf("stack file %s: key %s: %w", path, k, err)
			}
			raw[k] = string(b)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, nil, fmt.Errorf("stack file %s: key %s: %w", path, k, err)
			}
			raw[k] = string(b)
		}
	}
	slices.Sort(encrypted)
	return raw, encrypted, nil
}
