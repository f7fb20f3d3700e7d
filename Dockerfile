# mqgate as a container: a static binary (CGO off) on distroless, run as a
# non-root user, with the store on a volume. Every key can be set from the
# environment (MQGATE_SECTION__KEY), so the container needs no file.
#
#   docker build -t mqgate --build-arg VERSION=$(git describe --tags --always) .
#   docker run -p 1883:1883 -p 8083:8083 -v mqgate-data:/var/lib/mqgate mqgate
#
# The HTTP API listens on the container's loopback by default, which the
# HEALTHCHECK uses; to reach it from outside, create a key with
# `mqgate apikey -f api_keys NAME`, mount the file and set
# MQGATE_HTTP__ADDRESS=:18083 MQGATE_HTTP__API_KEY_FILE=/etc/mqgate/api_keys.
# MQTT-SN (1884/udp) is off until MQGATE_MQTTSN__ENABLED=true.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.1.0-dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/mqgate/mqgate/gateway.Version=${VERSION}" -o /out/mqgate ./cmd/mqgate
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mqgate /usr/local/bin/mqgate
COPY --from=build --chown=65532:65532 /out/data /var/lib/mqgate
ENV MQGATE_STORAGE__DIR=/var/lib/mqgate
VOLUME /var/lib/mqgate
USER 65532:65532
EXPOSE 1883/tcp 8083/tcp 1884/udp 18083/tcp
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["/usr/local/bin/mqgate", "ctl", "health", "-ready"]
ENTRYPOINT ["/usr/local/bin/mqgate"]
CMD ["run"]
