package coap

import (
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/internal/coretest"
)

// refusalCase is one attempt to open a session and the reason it is
// counted under (none: not counted).
type refusalCase struct {
	name string
	try  func(t *testing.T)
	want core.Refusal
}

const noRefusal = coretest.NoRefusal

// checkRefusals runs each case and checks it was counted once under its
// reason, and nothing else was.
func checkRefusals(t *testing.T, b *core.Broker, cases []refusalCase) {
	t.Helper()
	for _, tc := range cases {
		coretest.CheckRefusal(t, b, "coap", tc.name, tc.try, tc.want)
	}
}

// TestRefusedConnectionsCountedByReason: with connections required, a
// POST /mqtt/connection the gateway refuses before it asks the core is
// counted under its reason, one the core refuses is counted by the core,
// and an accepted one is not counted.
func TestRefusedConnectionsCountedByReason(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) {
		c.ConnectionRequired = true
		c.MaxClients = 1
	})
	if _, err := e.broker.AddBan(core.Ban{Kind: core.BanClientID, Value: "banned"}); err != nil {
		t.Fatal(err)
	}
	r := e.raw()
	var mid uint16
	connect := func(want string, kv ...string) func(t *testing.T) {
		return func(t *testing.T) {
			mid++
			r.send(rawRequest(message.Confirmable, codes.POST, mid, []byte{byte(mid)}, connOpts([]string{"mqtt", "connection"}, kv...), nil))
			if m := r.read(); codeString(m.code) != want {
				t.Fatalf("connect %v: %s, want %s", kv, codeString(m.code), want)
			}
		}
	}
	checkRefusals(t, e.broker, []refusalCase{
		{"a banned client id, refused by the core", connect("4.01", "clientid=banned"), core.RefusedBanned},
		{"no clientid", connect("4.00"), core.RefusedClientIDInvalid},
		{"an accepted connection", connect("2.01", "clientid=one"), noRefusal},
		{"a gateway at max_clients", connect("5.03", "clientid=two"), core.RefusedServerBusy},
	})
}

// TestImplicitSessionsRefusedWhenFull: without connections, the request
// of a new client while max_clients have sessions is a refused connect.
func TestImplicitSessionsRefusedWhenFull(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.MaxClients = 1 })
	publish := func(want string) func(t *testing.T) {
		return func(t *testing.T) {
			r := e.raw()
			r.send(rawRequest(message.Confirmable, codes.POST, 1, nil, pathOpts("ps", "x"), []byte("p")))
			if m := r.read(); codeString(m.code) != want {
				t.Fatalf("publish: %s, want %s", codeString(m.code), want)
			}
		}
	}
	checkRefusals(t, e.broker, []refusalCase{
		{"the first client", publish("2.04"), noRefusal},
		{"a second client", publish("5.03"), core.RefusedServerBusy},
	})
}
