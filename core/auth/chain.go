package auth

import (
	"context"
	"fmt"

	"github.com/mqgate/mqgate/core"
)

// Authenticators asks each source in order; the first verdict other than
// core.Ignore wins. An error stops the chain with core.Deny.
type Authenticators []core.Authenticator

// Authorizers asks each source in order; the first verdict other than
// core.Ignore wins. An error stops the chain with core.Deny.
type Authorizers []core.Authorizer

var (
	_ core.Authenticator = Authenticators(nil)
	_ core.Authorizer    = Authorizers(nil)
	_ core.Authenticator = AllowAll{}
	_ core.Authorizer    = AllowAll{}
)

// Authenticate returns the first decisive verdict, or core.Ignore when every
// source ignores the client.
func (s Authenticators) Authenticate(ctx context.Context, c *core.ClientInfo, password []byte) (core.Verdict, error) {
	for i, a := range s {
		v, err := a.Authenticate(ctx, c, password)
		if err != nil {
			return core.Deny, fmt.Errorf("auth source %d: %w", i, err)
		}
		if v != core.Ignore {
			return v, nil
		}
	}
	return core.Ignore, nil
}

// Authorize returns the first decisive verdict, or core.Ignore when every
// source ignores the request.
func (s Authorizers) Authorize(ctx context.Context, c *core.ClientInfo, a core.Action, topic string) (core.Verdict, error) {
	for i, z := range s {
		v, err := z.Authorize(ctx, c, a, topic)
		if err != nil {
			return core.Deny, fmt.Errorf("auth source %d: %w", i, err)
		}
		if v != core.Ignore {
			return v, nil
		}
	}
	return core.Ignore, nil
}

// AllowAll allows every client and every request; it serves anonymous
// access and the end of a permissive chain.
type AllowAll struct{}

// Authenticate returns core.Allow.
func (AllowAll) Authenticate(context.Context, *core.ClientInfo, []byte) (core.Verdict, error) {
	return core.Allow, nil
}

// Authorize returns core.Allow.
func (AllowAll) Authorize(context.Context, *core.ClientInfo, core.Action, string) (core.Verdict, error) {
	return core.Allow, nil
}
