//go:build !linux

package bench

import "context"

// rawConnectAll is Linux only; elsewhere connectAll opens every client.
func (r *run) rawConnectAll(context.Context, []*clientSpec) ([]benchClient, bool) { return nil, false }
