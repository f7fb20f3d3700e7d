package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// health is the container's HEALTHCHECK: it asks the HTTP API's /healthz
// and, when nothing listens there (the HTTP server is configured off),
// whether the MQTT listener answers a CONNECT with a CONNACK.
func health(args []string, _ io.Reader, stdout, _ io.Writer) error {
	fs := newFlagSet("health", "mqgate health [-url URL] [-mqtt HOST:PORT] [-timeout D]",
		"Exit 0 when the gateway on this host answers: the HTTP API's /healthz,\nor, when nothing listens there, the MQTT listener with a CONNACK.")
	url := fs.String("url", "http://127.0.0.1:18083/healthz", "the HTTP API's health endpoint")
	mqtt := fs.String("mqtt", "127.0.0.1:1883", "the MQTT listener to try when the HTTP API does not answer")
	timeout := fs.Duration("timeout", 3*time.Second, "how long each check may take")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	err := httpHealthy(ctx, *url)
	if errors.Is(err, syscall.ECONNREFUSED) {
		err = mqttAnswers(*mqtt, *timeout)
		if err == nil {
			fmt.Fprintf(stdout, "ok: %s answers MQTT\n", *mqtt)
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	fmt.Fprintf(stdout, "ok: %s\n", *url)
	return nil
}

func httpHealthy(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health URL: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}

// mqttAnswers connects as an MQTT 3.1.1 client without a client id (a
// clean session) and waits for the CONNACK; any return code means the
// broker is up.
func mqttAnswers(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	connect := []byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 0}
	if _, err := c.Write(connect); err != nil {
		return fmt.Errorf("mqtt: send CONNECT: %w", err)
	}
	var ack [4]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		return fmt.Errorf("mqtt: no CONNACK: %w", err)
	}
	if ack[0] != 0x20 || ack[1] != 2 {
		return fmt.Errorf("mqtt: %s answered % x, not a CONNACK", addr, ack)
	}
	c.Write([]byte{0xe0, 0}) // DISCONNECT
	return nil
}
