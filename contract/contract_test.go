package contract

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDecodeOutputs(t *testing.T) {
	full := map[string]any{
		OutputAPIURL: "https://api.x.dev", OutputFrontendURL: "https://app.x.dev",
		OutputHealthURLs:   map[string]any{"eu": "https://api-eu.x.dev/health/ready"},
		OutputBackendImage: "r/b@sha256:1", OutputBackupBucket: "bkt", OutputBackupImage: "r/p@sha256:2",
		OutputProxyImage: "r/x@sha256:3", OutputPostgresImage: "r/pg@sha256:4", "somethingNewer": 42.0,
		OutputPrometheusImage: "r/prom@sha256:5", OutputAlertmanagerImage: "r/am@sha256:6", OutputPGExporterImage: "r/pge@sha256:7",
		OutputPrometheusURLs:     map[string]any{"eu": "https://prometheus-eu.x.dev"},
		OutputMonitoringClientID: "id.access", OutputMonitoringClientSecret: "s3cr3t",
		OutputCanaries: map[string]any{"eu": map[string]any{"image": "r/b@sha256:8", "weight": 10.0, "bake": "10m", "maxBake": "30m"}},
	}
	for _, tc := range []struct {
		name    string
		out     map[string]any
		want    Deployed
		errs    []string // each must appear in the error; none means no error
		require []string // Require(Outputs()...) must name exactly these
	}{
		{name: "every output", out: full, want: Deployed{
			APIURL: "https://api.x.dev", FrontendURL: "https://app.x.dev",
			HealthURLs:   map[string]string{"eu": "https://api-eu.x.dev/health/ready"},
			BackendImage: "r/b@sha256:1", BackupBucket: "bkt", BackupImage: "r/p@sha256:2",
			ProxyImage: "r/x@sha256:3", PostgresImage: "r/pg@sha256:4",
			PrometheusImage: "r/prom@sha256:5", AlertmanagerImage: "r/am@sha256:6", PGExporterImage: "r/pge@sha256:7",
			PrometheusURLs:     map[string]string{"eu": "https://prometheus-eu.x.dev"},
			MonitoringClientID: "id.access", MonitoringClientSecret: "s3cr3t",
			Canaries: map[string]Canary{"eu": {Image: "r/b@sha256:8", Weight: 10, Bake: 10 * time.Minute, MaxBake: 30 * time.Minute}},
		}},
		{name: "older stack without backupImage", out: map[string]any{OutputAPIURL: "http://a", OutputBackendImage: "sha256:1"},
			want:    Deployed{APIURL: "http://a", BackendImage: "sha256:1"},
			require: []string{OutputBackupBucket, OutputBackupImage, OutputFrontendURL, OutputHealthURLs, OutputPostgresImage, OutputProxyImage}},
		{name: "mistyped outputs are each named", out: map[string]any{OutputAPIURL: 1.0, OutputHealthURLs: "https://x", OutputBackupImage: nil},
			errs: []string{"output apiUrl: got a number, want a string", "output healthUrls: got a string, want an object",
				"output backupImage: got null, want a string"}},
		{name: "mistyped health URL entry", out: map[string]any{OutputHealthURLs: map[string]any{"eu": "https://e", "us": true}},
			errs: []string{`output healthUrls["us"]: got a boolean, want a string`}},
		{name: "mistyped Prometheus URLs", out: map[string]any{OutputPrometheusURLs: []any{"https://p"}},
			errs: []string{"output prometheusUrls: got a list, want an object"}},
		{name: "empty string is present but empty", out: map[string]any{OutputAPIURL: ""},
			require: []string{OutputAPIURL, OutputBackendImage}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeOutputs(tc.out)
			if len(tc.errs) == 0 && err != nil {
				t.Fatalf("error %v", err)
			}
			for _, want := range tc.errs {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want it to contain %q", err, want)
				}
			}
			if len(tc.errs) > 0 {
				return
			}
			got.present = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
		t.Run(tc.name+"/require", func(t *testing.T) {
			if tc.require == nil {
				return
			}
			d, _ := DecodeOutputs(tc.out)
			err := d.Require(tc.require...)
			if err == nil || !strings.Contains(err.Error(), strings.Join(tc.require, ", ")) {
				t.Errorf("Require(%v) = %v, want it to name each", tc.require, err)
			}
		})
	}
}

func TestRequirePresent(t *testing.T) {
	d, err := DecodeOutputs(map[string]any{OutputAPIURL: "https://a", OutputHealthURLs: map[string]any{"eu": "https://e"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Require(OutputAPIURL, OutputHealthURLs); err != nil {
		t.Errorf("Require of present outputs: %v", err)
	}
	if !d.Has(OutputAPIURL) || d.Has(OutputBackendImage) {
		t.Errorf("Has: apiUrl %v backendImage %v, want true false", d.Has(OutputAPIURL), d.Has(OutputBackendImage))
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{RegionImageKey(1), "helloagents:regions[1].image"},
		{KeyBackupImage, "helloagents:backup.image"},
		{KeyProxyImage, "helloagents:backend.proxyImage"},
		{KeyDatabaseImage, "helloagents:database.image"},
		{KeyPrometheusImage, "helloagents:monitoring.prometheusImage"},
		{KeyAlertmanagerImage, "helloagents:monitoring.alertmanagerImage"},
		{KeyPGExporterImage, "helloagents:monitoring.pgexporterImage"},
		{RegionCanaryImageKey(0), "helloagents:regions[0].canaryImage"},
		{KeyCanary, "helloagents:backend.canary"},
	} {
		if tc.got != tc.want {
			t.Errorf("key %q, want %q", tc.got, tc.want)
		}
	}
	if got := len(Outputs()); got != 15 {
		t.Errorf("Outputs() has %d names, want 15: %v", got, Outputs())
	}
	for _, name := range CloudOutputs() {
		if !slices.Contains(Outputs(), name) {
			t.Errorf("cloud output %s is not in Outputs()", name)
		}
	}
}

func TestValue(t *testing.T) {
	d, err := DecodeOutputs(map[string]any{OutputPostgresImage: "pg@sha256:1", OutputHealthURLs: map[string]any{"eu": "https://e"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{
		{OutputPostgresImage, "pg@sha256:1"},
		{OutputProxyImage, ""},     // not exported
		{OutputHealthURLs, ""},     // not a string output
		{OutputPrometheusURLs, ""}, // not a string output
		{"noSuchOutput", ""},       // unknown
	} {
		if got := d.Value(tc.name); got != tc.want {
			t.Errorf("Value(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
