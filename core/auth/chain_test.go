package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/core"
)

// fixed is a source that always answers the same, and counts its calls.
type fixed struct {
	v     core.Verdict
	err   error
	calls int
}

func (f *fixed) Authenticate(context.Context, *core.ClientInfo, []byte) (core.Verdict, error) {
	f.calls++
	return f.v, f.err
}

func (f *fixed) Authorize(context.Context, *core.ClientInfo, core.Action, string) (core.Verdict, error) {
	f.calls++
	return f.v, f.err
}

func TestChains(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name      string
		sources   []*fixed
		want      core.Verdict
		wantErr   string // prefix; "" means no error
		wantCalls []int
	}{
		{"empty chain ignores", nil, core.Ignore, "", nil},
		{"all ignore", []*fixed{{v: core.Ignore}, {v: core.Ignore}}, core.Ignore, "", []int{1, 1}},
		{"first allow wins", []*fixed{{v: core.Allow}, {v: core.Deny}}, core.Allow, "", []int{1, 0}},
		{"first deny wins", []*fixed{{v: core.Deny}, {v: core.Allow}}, core.Deny, "", []int{1, 0}},
		{"ignore passes to next", []*fixed{{v: core.Ignore}, {v: core.Allow}, {v: core.Deny}}, core.Allow, "", []int{1, 1, 0}},
		{"error denies and stops", []*fixed{{v: core.Ignore}, {v: core.Allow, err: errBoom}, {v: core.Allow}}, core.Deny, "auth source 1: ", []int{1, 1, 0}},
	}
	for _, tt := range tests {
		check := func(t *testing.T, v core.Verdict, err error) {
			t.Helper()
			if v != tt.want {
				t.Errorf("verdict = %v, want %v", v, tt.want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || !errors.Is(err, errBoom)):
				t.Errorf("err = %v, want %q wrapping %v", err, tt.wantErr, errBoom)
			}
			for i, s := range tt.sources {
				if s.calls != tt.wantCalls[i] {
					t.Errorf("source %d called %d times, want %d", i, s.calls, tt.wantCalls[i])
				}
				s.calls = 0
			}
		}
		t.Run("authenticators/"+tt.name, func(t *testing.T) {
			var chain Authenticators
			for _, s := range tt.sources {
				chain = append(chain, s)
			}
			v, err := chain.Authenticate(context.Background(), &core.ClientInfo{}, nil)
			check(t, v, err)
		})
		t.Run("authorizers/"+tt.name, func(t *testing.T) {
			var chain Authorizers
			for _, s := range tt.sources {
				chain = append(chain, s)
			}
			v, err := chain.Authorize(context.Background(), &core.ClientInfo{}, core.ActionPublish, "a")
			check(t, v, err)
		})
	}
}

func TestAllowAll(t *testing.T) {
	ctx := context.Background()
	if v, err := (AllowAll{}).Authenticate(ctx, &core.ClientInfo{}, nil); v != core.Allow || err != nil {
		t.Errorf("Authenticate = %v, %v", v, err)
	}
	if v, err := (AllowAll{}).Authorize(ctx, &core.ClientInfo{}, core.ActionSubscribe, "#"); v != core.Allow || err != nil {
		t.Errorf("Authorize = %v, %v", v, err)
	}
}

// TestChainPasswordFileThenAllowAll shows the intended composition: a password
// file that ignores unknown users followed by AllowAll for anonymous access.
func TestChainPasswordFileThenAllowAll(t *testing.T) {
	p, err := LoadPasswordFile(fixtureDir + "/passwd")
	if err != nil {
		t.Fatal(err)
	}
	chain := Authenticators{p, AllowAll{}}
	ctx := context.Background()
	for _, tt := range []struct {
		name, user, pw string
		want           core.Verdict
	}{
		{"known user with right password", "alice", "secret", core.Allow},
		{"known user with wrong password stops the chain", "alice", "nope", core.Deny},
		{"unknown user falls through", "mallory", "x", core.Allow},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := chain.Authenticate(ctx, &core.ClientInfo{Username: tt.user}, []byte(tt.pw))
			if err != nil || v != tt.want {
				t.Fatalf("Authenticate = %v, %v; want %v", v, err, tt.want)
			}
		})
	}
}
