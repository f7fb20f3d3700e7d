// Package httpapi is mqgate's operations HTTP interface: the REST API under
// /api/v1 over core.Admin, Prometheus /metrics, /healthz and /readyz, and
// the API keys and dashboard logins that guard them. The gateway owns the
// listener.
package httpapi
