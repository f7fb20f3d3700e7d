package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ctlCommands are mqgate ctl's subcommands.
var ctlCommands = []struct{ name, summary string }{
	{"status", "version, node, uptime, listeners and counts"},
	{"health", "exit 0 when /healthz answers (-ready: /readyz), for a container HEALTHCHECK"},
	{"clients", "list clients; with a client id, show one with its subscriptions"},
	{"kick", "close a client's connection (-discard ends its session too)"},
	{"subscriptions", "a client's subscriptions: CLIENTID [add FILTER | remove FILTER]"},
	{"bridges", "the upstream bridges: status, backlog, drops, reconnects; enable NAME or disable NAME"},
	{"ban", "list bans; add AS WHO (-reason, -until) or remove AS WHO; AS: clientid, username, peerhost"},
	{"retained", "list retained messages; get TOPIC or delete TOPIC"},
	{"publish", "publish a message: -t TOPIC -m PAYLOAD [-q QOS] [-r]"},
}

// ctlClient talks to a gateway's HTTP API.
type ctlClient struct {
	base, key string
	json      bool
	http      *http.Client
	stdout    io.Writer
}

// ctl runs mqgate ctl: the HTTP API from the command line.
func ctl(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprint(stdout, "usage: mqgate ctl COMMAND [flags] [args]\n\nCall a running gateway's HTTP API: tables for people, -json for scripts.\n\ncommands:\n")
		for _, c := range ctlCommands {
			fmt.Fprintf(stdout, "  %-9s %s\n", c.name, c.summary)
		}
		fmt.Fprint(stdout, "\nEvery command takes -url (default $MQGATE_URL or http://127.0.0.1:18083),\n-key NAME:SECRET (default $MQGATE_API_KEY) and -json.\n")
		if len(args) == 0 {
			return newFlagError(errors.New("a command is required"))
		}
		return flag.ErrHelp
	}
	name, args := args[0], args[1:]
	fs := newFlagSet("ctl "+name, "mqgate ctl "+name+" [flags]", "")
	c := &ctlClient{http: &http.Client{Timeout: 30 * time.Second}, stdout: stdout}
	fs.StringVar(&c.base, "url", envOr("MQGATE_URL", "http://127.0.0.1:18083"), "the gateway's HTTP server")
	fs.StringVar(&c.key, "key", os.Getenv("MQGATE_API_KEY"), "API key as NAME:SECRET")
	fs.BoolVar(&c.json, "json", false, "print the API's JSON answer")
	switch name {
	case "status":
		if err := parseFlags(fs, args, stdout); err != nil {
			return err
		}
		return c.status()
	case "health":
		ready := fs.Bool("ready", false, "ask /readyz: every listener open")
		if err := parseFlags(fs, args, stdout); err != nil {
			return err
		}
		path := "/healthz"
		if *ready {
			path = "/readyz"
		}
		c.http.Timeout = 5 * time.Second
		data, err := c.do("GET", path, nil)
		if err != nil {
			return err
		}
		if c.json {
			c.printJSON(data)
		} else {
			fmt.Fprintln(stdout, "ok")
		}
		return nil
	case "clients":
		prefix := fs.String("prefix", "", "client ids starting with this")
		user := fs.String("user", "", "this username only")
		proto := fs.String("proto", "", "this protocol only: mqtt, mqtt-sn")
		state := fs.String("state", "", "connected or disconnected")
		if err := parseFlags(fs, args, stdout); err != nil {
			return err
		}
		if fs.NArg() == 1 {
			return c.client(fs.Arg(0))
		}
		q := url.Values{}
		for k, v := range map[string]string{"clientid_prefix": *prefix, "username": *user, "proto_name": *proto, "conn_state": *state} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return c.clients(q)
	case "kick":
		discard := fs.Bool("discard", false, "end the session too")
		if err := parseFlags(fs, args, stdout); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return newFlagError(errors.New("usage: mqgate ctl kick [-discard] CLIENTID"))
		}
		path := "/api/v1/clients/" + url.PathEscape(fs.Arg(0))
		if *discard {
			path += "?discard_session=true"
		}
		if _, err := c.do("DELETE", path, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "kicked %s\n", fs.Arg(0))
		return nil
	case "subscriptions":
		qos := fs.Int("q", 0, "QoS of a subscription to add")
		if err := parseFlags(fs, args, stdout); err != nil {
			return err
		}
		usage := newFlagError(errors.New("usage: mqgate ctl subscriptions [-q QOS] CLIENTID [add FILTER | remove FILTER]"))
		if fs.NArg() == 0 {
			return usage
		}
		path := "/api/v1/clients/" + url.PathEscape(fs.Arg(0)) + "/subscriptions"
		switch {
		case fs.NArg() == 1:
			return c.subscriptions(path)
		case fs.NArg() == 3 && fs.Arg(1) == "add":
			data, err := c.do("POST", path, map[string]any{"topic": fs.Arg(2), "qos": *qos})
			if err == nil && c.json {
				c.printJSON(data)
			} else if err == nil {
				fmt.Fprintf(stdout, "%s subscribed to %s\n", fs.Arg(0), fs.Arg(2))
			}
			return err
		case fs.NArg() == 3 && fs.Arg(1) == "remove":
			if _, err := c.do("DELETE", path+"?topic="+url.QueryEscape(fs.Arg(2)), nil); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s unsubscribed from %s\n", fs.Arg(0), fs.Arg(2))
			return nil
		}
		return usage
	case "bridges":
		if err := parseFlags(fs, args, stdout); err != nil {
			return err
		}
		switch {
		case fs.NArg() == 0:
			return c.bridges()
		case fs.NArg() == 2 && (fs.Arg(0) == "enable" || fs.Arg(0) == "disable"):
			on := fs.Arg(0) == "enable"
			if _, err := c.do("PUT", "/api/v1/bridges/"+url.PathEscape(fs.Arg(1))+"/enable/"+strconv.FormatBool(on), nil); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "bridge %s %sd\n", fs.Arg(1), fs.Arg(0))
			return nil
		}
		return newFlagError(errors.New("usage: mqgate ctl bridges [enable NAME | disable NAME]"))
	case "ban":
		reason := fs.String("reason", "", "why, for the list")
		until := fs.String("until", "", "RFC 3339 time the ban ends; until removed when empty")
		// Flags may come before the verb and after it:
		// ban -url U add -reason R AS WHO.
		if err := parseFlags(fs, args, stdout); err != nil {
			return err
		}
		verb := "list"
		if fs.NArg() > 0 {
			verb = fs.Arg(0)
			if err := parseFlags(fs, fs.Args()[1:], stdout); err != nil {
				return err
			}
		}
		switch {
		case verb == "list" && fs.NArg() == 0:
			return c.bans()
		case verb == "add" && fs.NArg() == 2:
			data, err := c.do("POST", "/api/v1/banned", map[string]any{"as": fs.Arg(0), "who": fs.Arg(1), "reason": *reason, "until": *until})
			if err != nil {
				return err
			}
			if c.json {
				c.printJSON(data)
				return nil
			}
			var r struct {
				Kicked int `json:"kicked"`
			}
			json.Unmarshal(data, &r)
			fmt.Fprintf(stdout, "banned %s %s; %d connected client(s) kicked\n", fs.Arg(0), fs.Arg(1), r.Kicked)
			return nil
		case verb == "remove" && fs.NArg() == 2:
			if _, err := c.do("DELETE", "/api/v1/banned/"+url.PathEscape(fs.Arg(0))+"/"+url.PathEscape(fs.Arg(1)), nil); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "removed the ban of %s %s\n", fs.Arg(0), fs.Arg(1))
			return nil
		}
		return newFlagError(errors.New("usage: mqgate ctl ban [list | add [-reason R] [-until TIME] AS WHO | remove AS WHO]"))
	case "retained":
		filter := fs.String("topic", "", "topic filter for the list (default #)")
		if err := parseFlags(fs, args, stdout); err != nil {
			return err
		}
		switch {
		case fs.NArg() == 0 || fs.NArg() == 1 && fs.Arg(0) == "list":
			return c.retainedList(*filter)
		case fs.NArg() == 2 && fs.Arg(0) == "get":
			return c.retainedGet(fs.Arg(1))
		case fs.NArg() == 2 && fs.Arg(0) == "delete":
			if _, err := c.do("DELETE", "/api/v1/retained/"+url.PathEscape(fs.Arg(1)), nil); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "deleted the retained message of %s\n", fs.Arg(1))
			return nil
		}
		return newFlagError(errors.New("usage: mqgate ctl retained [list [-topic FILTER] | get TOPIC | delete TOPIC]"))
	case "publish":
		t := fs.String("t", "", "topic (required)")
		m := fs.String("m", "", "payload")
		qos := fs.Int("q", 0, "QoS: 0, 1 or 2")
		retain := fs.Bool("r", false, "retain the message")
		if err := parseFlags(fs, args, stdout); err != nil {
			return err
		}
		if *t == "" || fs.NArg() != 0 {
			return newFlagError(errors.New("usage: mqgate ctl publish -t TOPIC [-m PAYLOAD] [-q QOS] [-r]"))
		}
		return c.publish(map[string]any{"topic": *t, "payload": *m, "qos": *qos, "retain": *retain})
	}
	return fmt.Errorf("%w %q: mqgate ctl -h lists them", errUnknownCommand, name)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// ctlAPIError is an answer other than 2xx.
type ctlAPIError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *ctlAPIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// do calls the API and returns the body of a 2xx answer.
func (c *ctlClient) do(method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(c.base, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		name, secret, ok := strings.Cut(c.key, ":")
		if !ok {
			return nil, newFlagError(errors.New("-key: want NAME:SECRET"))
		}
		req.SetBasicAuth(name, secret)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		e := &ctlAPIError{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil {
			e.Code, e.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(data))
		}
		return nil, e
	}
	return data, nil
}

// printJSON prints a JSON answer indented, for -json.
func (c *ctlClient) printJSON(data []byte) {
	var out bytes.Buffer
	if json.Indent(&out, data, "", "  ") == nil {
		data = append(out.Bytes(), '\n')
	}
	c.stdout.Write(data)
}

func (c *ctlClient) get(path string, v any) (printed bool, err error) {
	data, err := c.do("GET", path, nil)
	if err != nil {
		return false, err
	}
	if c.json {
		c.printJSON(data)
		return true, nil
	}
	return false, json.Unmarshal(data, v)
}

func (c *ctlClient) table() *tabwriter.Writer {
	return tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
}

func (c *ctlClient) status() error {
	var s struct {
		Version, Node, Store              string
		Uptime, Connections               int64
		Sessions, Subscriptions, Retained int
		MessagesReceived                  int64 `json:"messages_received"`
		MessagesSent                      int64 `json:"messages_sent"`
		MessagesDropped                   int64 `json:"messages_dropped"`
		Listeners                         []struct {
			Protocol, Name, Address string
			Connections             int64
		}
	}
	if done, err := c.get("/api/v1/status", &s); done || err != nil {
		return err
	}
	w := c.table()
	fmt.Fprintf(w, "node\t%s\nversion\t%s\nuptime\t%s\nstore\t%s\nconnections\t%d\nsessions\t%d\nsubscriptions\t%d\nretained\t%d\nmessages in/out/dropped\t%d/%d/%d\n\n",
		s.Node, s.Version, time.Duration(s.Uptime)*time.Second, s.Store, s.Connections, s.Sessions, s.Subscriptions, s.Retained,
		s.MessagesReceived, s.MessagesSent, s.MessagesDropped)
	fmt.Fprintln(w, "PROTOCOL\tLISTENER\tADDRESS\tCONNECTIONS")
	for _, l := range s.Listeners {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", l.Protocol, l.Name, l.Address, l.Connections)
	}
	return w.Flush()
}

type ctlClientJSON struct {
	ClientID      string `json:"clientid"`
	Username      string `json:"username"`
	ProtoName     string `json:"proto_name"`
	ProtoVer      int    `json:"proto_ver"`
	IPAddress     string `json:"ip_address"`
	Port          int    `json:"port"`
	Connected     bool   `json:"connected"`
	Subs          int    `json:"subscriptions_cnt"`
	Queued        int    `json:"mqueue_len"`
	Inflight      int    `json:"inflight_cnt"`
	Subscriptions []struct {
		Topic string `json:"topic"`
		QoS   int    `json:"qos"`
	} `json:"subscriptions"`
}

func (c *ctlClient) clients(q url.Values) error {
	w := c.table()
	if !c.json {
		fmt.Fprintln(w, "CLIENTID\tUSERNAME\tPROTOCOL\tCONNECTED\tPEER\tSUBS\tQUEUED\tINFLIGHT")
	}
	all, err := c.pages("/api/v1/clients", q, func(raw json.RawMessage) error {
		var cl ctlClientJSON
		if err := json.Unmarshal(raw, &cl); err != nil {
			return err
		}
		if !c.json {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", cl.ClientID, dash(cl.Username), protoString(cl.ProtoName, cl.ProtoVer),
				yesNo(cl.Connected), peerString(cl.IPAddress, cl.Port), cl.Subs, cl.Queued, cl.Inflight)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.finishList(w, all)
}

// pages gets every page of a paged listing, one request each, calls each
// for every item and returns them all (for -json, one array).
func (c *ctlClient) pages(path string, q url.Values, each func(json.RawMessage) error) ([]json.RawMessage, error) {
	var all []json.RawMessage
	q.Set("limit", "1000")
	for {
		var p struct {
			Data []json.RawMessage
			Meta struct {
				HasNext bool   `json:"hasnext"`
				Cursor  string `json:"cursor"`
			}
		}
		data, err := c.do("GET", path+"?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Data...)
		for _, raw := range p.Data {
			if err := each(raw); err != nil {
				return nil, err
			}
		}
		if !p.Meta.HasNext {
			return all, nil
		}
		q.Set("cursor", p.Meta.Cursor)
	}
}

// finishList prints a listing: the table, or with -json the items of
// every page as one JSON array.
func (c *ctlClient) finishList(w *tabwriter.Writer, all []json.RawMessage) error {
	if c.json {
		data, err := json.Marshal(append([]json.RawMessage{}, all...))
		if err != nil {
			return err
		}
		c.printJSON(data)
		return nil
	}
	return w.Flush()
}

func (c *ctlClient) client(id string) error {
	var cl ctlClientJSON
	if done, err := c.get("/api/v1/clients/"+url.PathEscape(id), &cl); done || err != nil {
		return err
	}
	w := c.table()
	fmt.Fprintf(w, "clientid\t%s\nusername\t%s\nprotocol\t%s\nconnected\t%s\npeer\t%s\nqueued\t%d\ninflight\t%d\n\nSUBSCRIPTION\tQOS\n",
		cl.ClientID, dash(cl.Username), protoString(cl.ProtoName, cl.ProtoVer), yesNo(cl.Connected), peerString(cl.IPAddress, cl.Port), cl.Queued, cl.Inflight)
	for _, s := range cl.Subscriptions {
		fmt.Fprintf(w, "%s\t%d\n", s.Topic, s.QoS)
	}
	return w.Flush()
}

func (c *ctlClient) subscriptions(path string) error {
	var subs []struct {
		Topic string `json:"topic"`
		QoS   int    `json:"qos"`
		NL    int    `json:"nl"`
		RAP   int    `json:"rap"`
		RH    int    `json:"rh"`
	}
	if done, err := c.get(path, &subs); done || err != nil {
		return err
	}
	w := c.table()
	fmt.Fprintln(w, "FILTER\tQOS\tNL\tRAP\tRH")
	for _, s := range subs {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\n", s.Topic, s.QoS, s.NL, s.RAP, s.RH)
	}
	return w.Flush()
}

func (c *ctlClient) bridges() error {
	var bs []struct {
		Name       string  `json:"name"`
		Status     string  `json:"status"`
		Address    string  `json:"address"`
		Queued     int     `json:"queued"`
		Oldest     float64 `json:"oldest_age_seconds"`
		Dropped    int64   `json:"dropped"`
		Reconnects int64   `json:"reconnects"`
		LastError  string  `json:"last_error"`
	}
	if done, err := c.get("/api/v1/bridges", &bs); done || err != nil {
		return err
	}
	w := c.table()
	fmt.Fprintln(w, "NAME\tSTATUS\tADDRESS\tQUEUED\tOLDEST\tDROPPED\tRECONNECTS\tLAST ERROR")
	for _, b := range bs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%.0fs\t%d\t%d\t%s\n", b.Name, b.Status, dash(b.Address), b.Queued, b.Oldest, b.Dropped, b.Reconnects, dash(b.LastError))
	}
	return w.Flush()
}

func (c *ctlClient) bans() error {
	var p struct {
		Data []struct {
			As     string     `json:"as"`
			Who    string     `json:"who"`
			Reason string     `json:"reason"`
			At     time.Time  `json:"at"`
			Until  *time.Time `json:"until"`
		}
	}
	if done, err := c.get("/api/v1/banned", &p); done || err != nil {
		return err
	}
	w := c.table()
	fmt.Fprintln(w, "AS\tWHO\tSINCE\tUNTIL\tREASON")
	for _, b := range p.Data {
		until := "-"
		if b.Until != nil {
			until = b.Until.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", b.As, b.Who, b.At.UTC().Format(time.RFC3339), until, dash(b.Reason))
	}
	return w.Flush()
}

func (c *ctlClient) retainedList(filter string) error {
	q := url.Values{}
	if filter != "" {
		q.Set("topic", filter)
	}
	w := c.table()
	if !c.json {
		fmt.Fprintln(w, "TOPIC\tQOS\tBYTES\tFROM")
	}
	all, err := c.pages("/api/v1/retained", q, func(raw json.RawMessage) error {
		var m struct {
			Topic        string `json:"topic"`
			QoS          int    `json:"qos"`
			PayloadSize  int    `json:"payload_size"`
			FromClientID string `json:"from_clientid"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		if !c.json {
			fmt.Fprintf(w, "%s\t%d\t%d\t%s\n", m.Topic, m.QoS, m.PayloadSize, dash(m.FromClientID))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.finishList(w, all)
}

func (c *ctlClient) retainedGet(topic string) error {
	var m struct {
		Topic   string `json:"topic"`
		QoS     int    `json:"qos"`
		Payload string `json:"payload"`
	}
	if done, err := c.get("/api/v1/retained/"+url.PathEscape(topic), &m); done || err != nil {
		return err
	}
	payload, err := base64.StdEncoding.DecodeString(m.Payload)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s (qos %d, %d bytes):\n%s\n", m.Topic, m.QoS, len(payload), payload)
	return nil
}

func (c *ctlClient) publish(req map[string]any) error {
	data, err := c.do("POST", "/api/v1/publish", req)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(data)
		return nil
	}
	var r struct {
		ID      string `json:"id"`
		Matched int    `json:"matched"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "published %s to %d subscriber(s)\n", r.ID, r.Matched)
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func protoString(name string, ver int) string {
	if ver == 0 {
		return name
	}
	return name + " " + strconv.Itoa(ver)
}

func peerString(ip string, port int) string {
	if ip == "" {
		return "-"
	}
	if port == 0 {
		return ip
	}
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + strconv.Itoa(port)
	}
	return ip + ":" + strconv.Itoa(port)
}
