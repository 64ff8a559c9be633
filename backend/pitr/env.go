package pitr

import (
	"net"
	"strconv"
)

// FromEnv reads a Config from the PGBACKREST_* variables that Env and
// SecretEnv write (the Postgres container's environment), so an operator
// command run beside the database uses exactly the server's repository.
func FromEnv(getenv func(string) string) Config {
	get := func(option string) string { return getenv(EnvName(option)) }
	atoi := func(option string) int {
		n, _ := strconv.Atoi(get(option))
		return n
	}
	c := Config{
		Stanza:     get("stanza"),
		DataDir:    get("pg1-path"),
		SocketDir:  get("pg1-socket-path"),
		Port:       atoi("pg1-port"),
		User:       get("pg1-user"),
		SpoolPath:  get("spool-path"),
		LockPath:   get("lock-path"),
		ProcessMax: atoi("process-max"),
		Repo: Repo{
			Type:            RepoType(get("repo1-type")),
			Path:            get("repo1-path"),
			Endpoint:        get("repo1-s3-endpoint"),
			Bucket:          get("repo1-s3-bucket"),
			Region:          get("repo1-s3-region"),
			CAFile:          get("repo1-storage-ca-file"),
			AccessKeyID:     get("repo1-s3-key"),
			SecretAccessKey: get("repo1-s3-key-secret"),
			CipherPass:      get("repo1-cipher-pass"),
			RetentionFull:   atoi("repo1-retention-full"),
		},
	}
	if c.Stanza == "" {
		c.Stanza = "main"
	}
	if c.Repo.Type == "" {
		c.Repo.Type = RepoPOSIX
	}
	if port := get("repo1-storage-port"); port != "" && c.Repo.Endpoint != "" {
		c.Repo.Endpoint = net.JoinHostPort(c.Repo.Endpoint, port)
	}
	return c
}
