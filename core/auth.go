package core

import "context"

// Verdict is the answer of one authentication or authorization source.
type Verdict int

// Verdicts. Ignore passes the decision to the next source in a chain.
const (
	Ignore Verdict = iota
	Allow
	Deny
)

func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	}
	return "ignore"
}

// Authenticator decides whether a client may connect. password is nil when
// the client sent none.
type Authenticator interface {
	Authenticate(ctx context.Context, c *ClientInfo, password []byte) (Verdict, error)
}

// Action is what a client wants to do with a topic.
type Action byte

// Actions checked by an Authorizer.
const (
	ActionPublish Action = 1 << iota
	ActionSubscribe
)

func (a Action) String() string {
	switch a {
	case ActionPublish:
		return "publish"
	case ActionSubscribe:
		return "subscribe"
	}
	return "publish+subscribe"
}

// Authorizer decides whether a client may publish to a topic or subscribe to
// a filter. topic is the full topic after mountpoint.
type Authorizer interface {
	Authorize(ctx context.Context, c *ClientInfo, a Action, topic string) (Verdict, error)
}
