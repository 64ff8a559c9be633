// Package realprovider is the real-provider conformance suite: the program
// run by the Pulumi CLI with the official plugins (docker, random,
// cloudflare and the Go language host, built from their public sources by
// shared/tools/build-pulumi-plugins) against a real Docker engine, the way
// a user runs it. Stand-in providers only show what they were taught; this
// suite shows what the provider does: how it creates, reads back, replaces
// and deletes each resource.
//
// It is opt-in: it runs when PULUMI_REAL_PLUGINS names the folder holding
// the plugins, and skips with that reason otherwise (also under CI, whose
// machines cannot have the plugins). It needs the Pulumi CLI (bin/pulumi
// from `make tools`, or one on PATH) and a Docker engine; a dev stack of
// its own must not be running on that engine (port 8000 and the
// helloagents-dev names).
//
//	PULUMI_REAL_PLUGINS=/path/to/plugins go test ./realprovider/ -v -timeout 60m
//
// Every test works on a copy of the repository (tracked and untracked
// files, not ignored ones) with its own file state backend, so the
// developer's working tree and dev stack are never touched. The figures it
// prints are the table in docs/PERFORMANCE.md.
package realprovider
