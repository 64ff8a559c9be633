# The Postgres server of every region: PostgreSQL 15 and pgBackRest from
# Debian bookworm, the pgrecover and pgrole operator commands, the pitrjob backup
# scheduler (run as a second container of this image), and an entrypoint that
# initialises the cluster and archives every WAL segment through pgBackRest
# when a repository is configured (PGBACKREST_* variables). Build context: backend/.
#
#   docker build -f backend/postgres.Dockerfile -t helloagents-postgres backend/
#
# Base images are build arguments (a registry mirror, or locally built bases
# in tests, can substitute them). Not the postgres image: that one declares a
# VOLUME and runs as root until its entrypoint drops privileges; this one runs
# as the numeric non-root postgres user from the first instruction, works on
# a read-only root filesystem (writes only to the data and spool volumes,
# /tmp and /var/run/postgresql tmpfs) and declares no VOLUME.
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
    go build -trimpath -ldflags "-s -w" -o /out/ ./cmd/pgrecover ./cmd/pitrjob ./cmd/pgrole

FROM ${RUNTIME_IMAGE}
ARG PG_MAJOR=15
# The uid the Database component runs the container as (database.runAs).
ARG PG_UID=999
# Mount points (a fresh named volume takes their owner): data, restore (the
# target of pgrecover), the archive spool and the dev POSIX repository.
# Our own postgres account first, so Debian's packages keep its fixed uid;
# no cluster is created at install time (the entrypoint makes it on the volume).
RUN groupadd --system --gid ${PG_UID} postgres \
    && useradd --system --uid ${PG_UID} --gid postgres --home-dir /var/lib/postgresql --shell /bin/sh postgres \
    && mkdir -p /etc/postgresql-common \
    && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       postgresql-${PG_MAJOR} pgbackrest ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && : > /etc/pgbackrest.conf \
    && mkdir -p /var/lib/postgresql/data /var/lib/postgresql/restore /var/spool/pgbackrest /var/lib/pgbackrest /var/run/postgresql \
    && chown postgres:postgres /var/lib/postgresql /var/lib/postgresql/data /var/lib/postgresql/restore \
       /var/spool/pgbackrest /var/lib/pgbackrest /var/run/postgresql \
    && chmod 0700 /var/lib/postgresql/data /var/lib/postgresql/restore /var/spool/pgbackrest /var/lib/pgbackrest \
    && pgbackrest version && /usr/lib/postgresql/${PG_MAJOR}/bin/postgres --version
COPY --from=build /out/pgrecover /out/pitrjob /out/pgrole /usr/local/bin/
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PG_BIN=/usr/lib/postgresql/${PG_MAJOR}/bin \
    PGDATA=/var/lib/postgresql/data/pgdata \
    PGBACKREST_SPOOL_PATH=/var/spool/pgbackrest \
    PGBACKREST_PG1_SOCKET_PATH=/var/run/postgresql \
    PGBACKREST_LOG_LEVEL_FILE=off \
    PGBACKREST_LOG_LEVEL_STDERR=off \
    PGBACKREST_LOG_LEVEL_CONSOLE=info \
    TMPDIR=/tmp
USER ${PG_UID}:${PG_UID}
EXPOSE 5432
# SIGINT is PostgreSQL's fast shutdown: sessions end, a checkpoint is written.
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["pg_isready", "-h", "/var/run/postgresql"]
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
