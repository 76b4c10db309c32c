# syntax=docker/dockerfile:1

# The agenda server in a small image.
#
#   docker build -t agenda .
#   docker run -p 8080:8080 -v agenda-data:/data --env-file agenda.env agenda
#
# It needs LOGTO_ENDPOINT (and a BASE_URL): with no settings it would run in
# development mode, which listens on the container's loopback only, out of
# reach of -p. docker-compose.yml runs it with Logto, and docs/setup.md lists
# the settings of a deployment.

# Build: cgo is on because the SQLite driver (mattn/go-sqlite3) is C. The
# builder is Debian 12 like the runtime, so the binary asks for no newer glibc
# than the runtime has.
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=1
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/agenda ./cmd/agenda \
 && mkdir -p /out/data

# Run: distroless has glibc for the SQLite driver, CA certificates for
# Logto, and no shell or curl; `agenda healthcheck` is the health check.
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/agenda /usr/local/bin/agenda
COPY --from=build --chown=65532:65532 /out/data /data
ENV PORT=8080 \
    DATABASE_URL=/data/agenda.db
VOLUME /data
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/agenda", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/agenda"]
CMD ["serve"]
