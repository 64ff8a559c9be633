// Package contract is what the Pulumi program and the operator tools
// (promotion, status, verify) agree on: the names of the stack outputs the
// program exports and the tools read, the config paths promotion writes,
// and a typed decoder of the outputs. It imports no Pulumi package.
//
// Each name is a constant used on both sides, so renaming one fails to
// compile instead of failing in production.
package contract

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Stack outputs the program exports.
const (
	// OutputAPIURL is the public API base URL.
	OutputAPIURL = "apiUrl"
	// OutputFrontendURL is the frontend's URL (dev: the local dev server).
	OutputFrontendURL = "frontendUrl"
	// OutputHealthURLs maps each region's name to its readiness URL.
	OutputHealthURLs = "healthUrls"
	// OutputBackendImage is the backend image reference the stack runs.
	OutputBackendImage = "backendImage"
	// OutputBackupBucket is where the dumps go (dev: a volume name).
	OutputBackupBucket = "backupBucket"
	// OutputBackupImage is the pgbackup image reference.
	OutputBackupImage = "backupImage"
	// OutputProxyImage is the region proxy image reference.
	OutputProxyImage = "proxyImage"
	// OutputPostgresImage is the Postgres image reference.
	OutputPostgresImage = "postgresImage"
	// OutputPrometheusImage, OutputAlertmanagerImage and
	// OutputPGExporterImage are the monitoring images' references.
	OutputPrometheusImage   = "prometheusImage"
	OutputAlertmanagerImage = "alertmanagerImage"
	OutputPGExporterImage   = "pgexporterImage"
	// OutputPrometheusURLs maps each region's name to its Prometheus (dev:
	// http://127.0.0.1:9090; elsewhere an https hostname behind Cloudflare
	// Access).
	OutputPrometheusURLs = "prometheusUrls"
	// OutputMonitoringClientID and OutputMonitoringClientSecret are the
	// Cloudflare Access service token that opens the monitoring hostnames
	// (headers CF-Access-Client-Id and CF-Access-Client-Secret). Secret
	// outputs (`pulumi stack output --show-secrets`), exported only by the
	// stacks behind Cloudflare (CloudOutputs).
	OutputMonitoringClientID     = "monitoringClientId"
	OutputMonitoringClientSecret = "monitoringClientSecret"
)

// CloudOutputs are the outputs only stacks behind Cloudflare (staging,
// production) export, sorted.
func CloudOutputs() []string {
	return []string{OutputMonitoringClientID, OutputMonitoringClientSecret}
}

// Namespace is the program's config namespace.
const Namespace = "helloagents"

// Config paths promotion and failover read and write (pulumi config set --path).
const (
	// KeyRegions is the ordered list of regions; RegionImageKey(i) is the
	// digest region i runs.
	KeyRegions = Namespace + ":regions"
	// KeyBackupImage is the digest of the backup job every region runs.
	KeyBackupImage = Namespace + ":backup.image"
	// KeyProxyImage is the digest of the region proxy.
	KeyProxyImage = Namespace + ":backend.proxyImage"
	// KeyDatabaseImage is the digest of the Postgres image.
	KeyDatabaseImage = Namespace + ":database.image"
	// KeyDatabase is the database settings object; FieldPrimaryRegion is
	// its field KeyPrimaryRegion addresses, for readers of the raw object
	// (the failover asks whether the stack names a primary explicitly).
	KeyDatabase        = Namespace + ":database"
	FieldPrimaryRegion = "primaryRegion"
	// KeyPrimaryRegion names the region whose database is the primary;
	// the failover rewrites it.
	KeyPrimaryRegion = KeyDatabase + "." + FieldPrimaryRegion
	// KeyPrometheusImage, KeyAlertmanagerImage and KeyPGExporterImage are
	// the digests of the monitoring images.
	KeyPrometheusImage   = Namespace + ":monitoring.prometheusImage"
	KeyAlertmanagerImage = Namespace + ":monitoring.alertmanagerImage"
	KeyPGExporterImage   = Namespace + ":monitoring.pgexporterImage"
)

// RegionImageKey is the config path of the digest region i runs.
func RegionImageKey(i int) string { return fmt.Sprintf("%s[%d].image", KeyRegions, i) }

// Deployed is a stack's outputs, typed. An output the stack does not export
// is empty; Require says which must be there.
type Deployed struct {
	APIURL        string
	FrontendURL   string
	HealthURLs    map[string]string
	BackendImage  string
	BackupBucket  string
	BackupImage   string
	ProxyImage    string
	PostgresImage string
	// The monitoring images, each region's Prometheus and the Access
	// service token of the monitoring hostnames.
	PrometheusImage        string
	AlertmanagerImage      string
	PGExporterImage        string
	PrometheusURLs         map[string]string
	MonitoringClientID     string
	MonitoringClientSecret string
	// Canaries are the regions running a canary, by name (none: empty).
	Canaries map[string]Canary

	present map[string]bool
}

// Outputs lists every output name the program exports, sorted.
func Outputs() []string {
	var d Deployed
	return slices.Sorted(maps.Keys(d.strings()))
}

// strings maps each string output's name to its field.
func (d *Deployed) strings() map[string]*string {
	return map[string]*string{
		OutputAPIURL: &d.APIURL, OutputFrontendURL: &d.FrontendURL,
		OutputBackendImage: &d.BackendImage, OutputBackupBucket: &d.BackupBucket,
		OutputBackupImage: &d.BackupImage, OutputProxyImage: &d.ProxyImage,
		OutputPostgresImage:   &d.PostgresImage,
		OutputPrometheusImage: &d.PrometheusImage, OutputAlertmanagerImage: &d.AlertmanagerImage,
		OutputPGExporterImage:    &d.PGExporterImage,
		OutputMonitoringClientID: &d.MonitoringClientID, OutputMonitoringClientSecret: &d.MonitoringClientSecret,
		OutputHealthURLs:     nil, // maps, decoded by stringMap
		OutputPrometheusURLs: nil,
		OutputCanaries:       nil, // decoded by canaries
	}
}

// maps maps each output that is an object of region name to URL to its
// field.
func (d *Deployed) maps() map[string]*map[string]string {
	return map[string]*map[string]string{OutputHealthURLs: &d.HealthURLs, OutputPrometheusURLs: &d.PrometheusURLs}
}

// DecodeOutputs types a stack's outputs as `pulumi stack output --json` or
// the automation API returns them. Every mistyped output is an error naming
// it; outputs it does not know (a newer program's) are ignored.
func DecodeOutputs(out map[string]any) (Deployed, error) {
	d := Deployed{present: map[string]bool{}}
	var errs []error
	for name, field := range d.strings() {
		v, ok := out[name]
		if !ok {
			continue
		}
		d.present[name] = true
		if name == OutputCanaries {
			var err error
			if d.Canaries, err = canaries(v); err != nil {
				errs = append(errs, fmt.Errorf("output %s%w", name, err))
			}
			continue
		}
		if field == nil {
			var err error
			if *d.maps()[name], err = stringMap(v); err != nil {
				errs = append(errs, fmt.Errorf("output %s%w", name, err))
			}
			continue
		}
		if *field, ok = v.(string); !ok {
			errs = append(errs, fmt.Errorf("output %s: got %s, want a string", name, kind(v)))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return d, errors.Join(errs...)
}

// Has reports whether the stack exports name.
func (d Deployed) Has(name string) bool { return d.present[name] }

// Value returns the string output name, "" when the stack does not export
// it or it is not a string output: how the promotion reads an artifact's
// image by the output named in its description.
func (d Deployed) Value(name string) string {
	if field := d.strings()[name]; field != nil {
		return *field
	}
	return ""
}

// Require returns an error naming each of names the stack does not export,
// or exports empty (canaries is never empty: {} says no canary runs).
func (d Deployed) Require(names ...string) error {
	var missing []string
	for _, name := range names {
		if !d.present[name] || d.empty(name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing or empty stack output %s", strings.Join(missing, ", "))
	}
	return nil
}

// empty reports whether output name holds no value.
func (d Deployed) empty(name string) bool {
	if name == OutputCanaries {
		return false // no canary running is a value: {}
	}
	if m, ok := d.maps()[name]; ok {
		return len(*m) == 0
	}
	field, known := d.strings()[name]
	return !known || *field == ""
}

// stringMap types an object of strings (null is an empty map); an error
// starts with the entry it is about, to follow the output's name.
func stringMap(v any) (map[string]string, error) {
	switch m := v.(type) {
	case nil:
		return nil, nil
	case map[string]string:
		return m, nil
	case map[string]any:
		out := make(map[string]string, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			s, ok := m[k].(string)
			if !ok {
				return nil, fmt.Errorf("[%q]: got %s, want a string", k, kind(m[k]))
			}
			out[k] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf(": got %s, want an object of region name to URL", kind(v))
}

// kind names v's JSON type for an error message, never its value: an
// output may be a secret.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, int, int64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}
