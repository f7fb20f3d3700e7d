# mqgate in a container: a static binary on distroless, as a non-root user,
# with the data directory as a volume.
#
#   docker build -t mqgate --build-arg VERSION=$(git describe --always) .
#   docker run -p 1883:1883 -p 8083:8083 -v mqgate-data:/var/lib/mqgate mqgate
#
# The build command is the one cmd/mqgate/packaging_test.go runs; keep them
# equal.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# third_party/ holds the patched dependencies that go.mod replaces.
COPY go.mod go.sum ./
COPY third_party/ third_party/
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/mqgate/mqgate/gateway.Version=${VERSION}" -o /out/mqgate ./cmd/mqgate
# The data directory, owned by distroless's nonroot user (65532).
RUN mkdir -p /out/state/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mqgate /usr/local/bin/mqgate
COPY --from=build --chown=65532:65532 /out/state /var/lib/mqgate
# The working directory holds ./data, the embedded defaults' store.
WORKDIR /var/lib/mqgate
VOLUME /var/lib/mqgate
# MQTT over TCP, MQTT over WebSocket, the HTTP API (loopback unless
# configured otherwise: set MQGATE_HTTP__ADDRESS=:18083 and an API key
# file to reach it from outside); MQTT-SN (1884/udp), CoAP (5683/udp,
# DTLS 5684/udp) and STOMP (61613) listen only when a config file or the
# environment enables them.
EXPOSE 1883 8083 18083 1884/udp 5683/udp 5684/udp 61613
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["/usr/local/bin/mqgate", "health"]
ENTRYPOINT ["/usr/local/bin/mqgate"]
CMD ["run"]
