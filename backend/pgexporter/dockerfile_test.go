package pgexporter

import (
	"os"
	"regexp"
	"testing"
)

// TestDockerfile checks that the Dockerfile puts the queries file and the
// listen address where the constants say and runs as non-root.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../pgexporter.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`(?m)^COPY pgexporter/queries.yaml ` + regexp.QuoteMeta(QueriesPath) + `$`,
		`"--extend.query-path=` + regexp.QuoteMeta(QueriesPath) + `"\]`,
		`(?m)^ENV ` + EnvListenAddress + `=` + regexp.QuoteMeta(DefaultListenAddress) + `$`,
		`(?m)^EXPOSE 9187$`,
		`(?m)^USER 65532:65532$`,
	} {
		if !regexp.MustCompile(re).Match(b) {
			t.Errorf("pgexporter.Dockerfile does not match %s", re)
		}
	}
}
