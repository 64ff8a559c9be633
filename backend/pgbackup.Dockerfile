# The backup job: the pgbackup binary with pg_dump/pg_restore of the same
# major version as the server (PostgreSQL 15). Build context: backend/.
#
#   docker build -f backend/pgbackup.Dockerfile -t helloagents-pgbackup backend/
#
# Base images are build arguments (a registry mirror, or locally built bases
# in tests, can substitute them). The runtime is Debian bookworm with
# postgresql-client-15 from Debian, not the postgres image: that image
# declares a VOLUME, which would give every backup container an anonymous
# volume. No "# syntax=" line: the builtin BuildKit frontend supports the cache
# mounts, and a syntax line would pull a frontend image.
ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${GO_IMAGE} AS build
ARG GOPROXY=https://proxy.golang.org,direct
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOPROXY=${GOPROXY}
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w" -o /out/pgbackup ./cmd/pgbackup
# The dev destination directory, owned by the job's user: a fresh named
# volume mounted at /backups takes this ownership.
RUN mkdir -p /out/backups

FROM ${RUNTIME_IMAGE}
ARG PG_MAJOR=15
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       postgresql-client-${PG_MAJOR} ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && /usr/lib/postgresql/${PG_MAJOR}/bin/pg_dump --version
COPY --from=build /out/pgbackup /usr/local/bin/pgbackup
COPY --from=build --chown=65532:65532 /out/backups /backups
ENV PG_BIN=/usr/lib/postgresql/${PG_MAJOR}/bin \
    BACKUP_DESTINATION=file:///backups \
    TMPDIR=/tmp
USER 65532:65532
STOPSIGNAL SIGTERM
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/pgbackup"]
CMD ["run"]
