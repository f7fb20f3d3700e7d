// Package gateway builds mqgate from its configuration: the core broker,
// the authentication sources and the protocol adapters, and owns their
// lifecycle: Start opens every listener, Stop closes them in order.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/auth"
	"github.com/mqgate/mqgate/core/topic"
	"github.com/mqgate/mqgate/internal/profiling"
)

// Version is mqgate's version, set at build time with -ldflags.
var Version = "0.1.0-dev"

// Gateway is one running mqgate.
type Gateway struct {
	cfg      *conf.Config
	log      *slog.Logger
	Broker   *core.Broker
	adapters []Adapter // enabled, in start order
	running  []Adapter // started and not yet stopped, in start order
	httpAuth *auth.HTTP
	passwd   *auth.PasswordFile
	acl      *auth.ACL
	fileBans map[[2]string]bool // the bans auth.ban_file gave, by (kind, value)
	bridgeMu sync.Mutex         // guards cfg.Bridges, which ReloadBridges replaces
	pprof    *http.Server
	pprofEnd chan struct{} // closed when pprof's Serve has returned
	storage  *storage
	http     *httpServer
}

// New builds a gateway from a validated configuration and logs the
// configuration's warnings, such as deprecated keys.
func New(cfg *conf.Config, log *slog.Logger) (*Gateway, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{cfg: cfg, log: log}
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	authn, authz, err := g.buildAuth()
	if err != nil {
		return nil, err
	}
	strategy, err := topic.ParseStrategy(cfg.Broker.SharedStrategy)
	if err != nil {
		return nil, fmt.Errorf("broker.shared_subscription_strategy: %w", err)
	}
	drop := core.DropNewest
	if cfg.Sessions.DropPolicy == "drop_oldest" {
		drop = core.DropOldest
	}
	if g.storage, err = openStorage(&cfg.Storage, log); err != nil {
		return nil, err
	}
	g.Broker = core.NewBroker(core.Config{
		MaxInflight:        cfg.Sessions.MaxInflight,
		MaxInboundQoS2:     cfg.MQTT.ReceiveMaximum,
		MaxQueued:          cfg.Sessions.MaxQueued,
		MaxQueuedBytes:     int(cfg.Sessions.MaxQueuedBytes),
		QueueQoS0:          cfg.Sessions.QueueQoS0,
		DropPolicy:         drop,
		MaxSubscriptions:   cfg.Broker.MaxSubscriptions,
		MaxSessionExpiry:   cfg.Sessions.MaxExpiry.D(),
		MaxTopicLevels:     cfg.Broker.MaxTopicLevels,
		SharedStrategy:     strategy,
		RetainDisabled:     !cfg.Retained.Enabled,
		RetainedMax:        cfg.Retained.MaxMessages,
		RetainedMaxPayload: int(cfg.Retained.MaxPayload),
		SysInterval:        cfg.Sys.Interval.D(),
		NodeName:           cfg.Node,
		AllowAnonymous:     cfg.Auth.AllowAnonymous,
		Authenticator:      authn,
		Authorizer:         authz,
		Version:            Version,
		Logger:             log,
		Store:              g.storage.backend(),
	})
	if err := g.Broker.Restore(); err != nil {
		g.storage.close()
		return nil, fmt.Errorf("storage: restoring %s: %w", cfg.Storage.Dir, err)
	}
	if err := g.loadBanFile(); err != nil {
		g.storage.close()
		return nil, err
	}
	g.adapters = g.buildAdapters()
	g.http = &httpServer{}
	g.Broker.Listen(g.http.events())
	return g, nil
}

func (g *Gateway) buildAuth() (core.Authenticator, core.Authorizer, error) {
	a := &g.cfg.Auth
	var authn auth.Authenticators
	var authz auth.Authorizers
	if a.PasswordFile != "" {
		pf, err := auth.LoadPasswordFile(a.PasswordFile)
		if err != nil {
			return nil, nil, fmt.Errorf("auth.password_file: %w", err)
		}
		authn = append(authn, pf)
		g.passwd = pf
	}
	if a.ACLFile != "" {
		def := core.Allow
		if a.ACLDefault == "deny" {
			def = core.Deny
		}
		acl, err := auth.LoadACL(a.ACLFile, def)
		if err != nil {
			return nil, nil, fmt.Errorf("auth.acl_file: %w", err)
		}
		authz = append(authz, acl)
		g.acl = acl
	} else if a.ACLDefault == "deny" {
		authz = append(authz, denyAll{})
	}
	if a.HTTP.AuthnURL != "" || a.HTTP.AuthzURL != "" {
		h, err := auth.NewHTTP(auth.HTTPConfig{
			AuthnURL: a.HTTP.AuthnURL, AuthzURL: a.HTTP.AuthzURL,
			Timeout: a.HTTP.Timeout.D(), CacheTTL: a.HTTP.CacheTTL.D(), Headers: a.HTTP.Headers,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("auth.http: %w", err)
		}
		g.httpAuth = h
		if a.HTTP.AuthnURL != "" {
			authn = append(authn, h)
		}
		if a.HTTP.AuthzURL != "" {
			// The HTTP source is asked first; the ACL file decides what it
			// ignores.
			authz = append(auth.Authorizers{h}, authz...)
		}
	}
	if a.AllowAnonymous {
		g.log.Warn("anonymous clients are allowed: set auth.allow_anonymous: false and a password file for production")
	}
	var an core.Authenticator
	var az core.Authorizer
	if len(authn) > 0 {
		an = authn
	}
	if len(authz) > 0 {
		az = authz
	}
	return an, az, nil
}

type denyAll struct{}

func (denyAll) Authorize(context.Context, *core.ClientInfo, core.Action, string) (core.Verdict, error) {
	return core.Deny, nil
}

// Start starts the broker and every enabled adapter in order. If one
// fails, the gateway is shut down as Stop does, which stops the adapters
// already started in reverse order, and the error names the adapter.
func (g *Gateway) Start(ctx context.Context) error {
	tuneRuntime(g.cfg.Runtime, g.log)
	g.Broker.Start()
	err := g.startPprof(ctx)
	if err == nil {
		err = g.startHTTP(ctx)
	}
	if err == nil {
		err = g.startAdapters(ctx)
	}
	if err != nil {
		return errors.Join(err, g.Stop(ctx))
	}
	g.http.ready.Store(true)
	return nil
}

// Stop stops the running adapters in reverse order of their start: each
// stops accepting and closes its clients (wills are handled as the spec
// says for a server-side close). Then it closes the broker and the store.
func (g *Gateway) Stop(ctx context.Context) error {
	var errs []error
	if err := g.stopHTTP(ctx); err != nil {
		errs = append(errs, fmt.Errorf("stop HTTP server: %w", err))
	}
	if err := g.stopAdapters(ctx); err != nil {
		errs = append(errs, err)
	}
	g.Broker.Close()
	if err := g.storage.close(); err != nil {
		errs = append(errs, err)
	}
	if g.pprof != nil {
		g.pprof.Close()
		<-g.pprofEnd
	}
	if g.httpAuth != nil {
		g.httpAuth.Close()
	}
	return errors.Join(errs...)
}

// Reload re-reads the password, ACL, API key, dashboard users and ban
// files (as on SIGHUP) and logs, per file, what it loaded or what it kept
// and why. A file with errors leaves its previous contents in force. Only
// a good ACL reload re-checks existing subscriptions, removing those the
// new rules deny. The error joins the failures, which are logged already.
func (g *Gateway) Reload(ctx context.Context) error {
	a := &g.cfg.Auth
	keysErr := errors.Join(g.reloadAPIKeys(), g.reloadUsers())
	bansErr := g.loadBanFile()
	if bansErr != nil {
		g.log.Error("ban file reload failed, previous bans kept", "file", a.BanFile, "err", bansErr)
	}
	if g.passwd == nil && g.acl == nil {
		if g.cfg.HTTP.APIKeyFile == "" && g.cfg.HTTP.UsersFile == "" && a.BanFile == "" {
			g.log.Info("reload: no password, ACL, API key or ban file configured, nothing to reload")
		}
		return errors.Join(keysErr, bansErr)
	}
	errs := []error{keysErr, bansErr}
	if g.passwd != nil {
		if err := g.passwd.Reload(); err != nil {
			err = fmt.Errorf("auth.password_file: %w", err)
			g.log.Error("password file reload failed, previous users kept",
				"file", a.PasswordFile, "users", g.passwd.Len(), "err", err)
			errs = append(errs, err)
		} else {
			g.log.Info("password file reloaded", "file", a.PasswordFile, "users", g.passwd.Len())
		}
	}
	if g.acl != nil {
		if err := g.acl.Reload(); err != nil {
			err = fmt.Errorf("auth.acl_file: %w", err)
			g.log.Error("ACL file reload failed, previous rules kept",
				"file", a.ACLFile, "rules", g.acl.Len(), "err", err)
			errs = append(errs, err)
		} else {
			removed := g.Broker.Reauthorize(ctx)
			g.log.Info("ACL file reloaded", "file", a.ACLFile, "rules", g.acl.Len(),
				"subscriptions_removed", removed)
		}
	}
	return errors.Join(errs...)
}

// MQTTAddr returns the bound address of the named MQTT listener.
func (g *Gateway) MQTTAddr(name string) net.Addr { return g.Addrs("mqtt")[name] }

// StopTimeout is how long a graceful shutdown may take.
const StopTimeout = 10 * time.Second

// startPprof serves the runtime's profiles at net/http/pprof's paths when
// debug.pprof_address asks for it.
func (g *Gateway) startPprof(ctx context.Context) error {
	addr := g.cfg.Debug.PprofAddress
	if addr == "" {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("debug.pprof_address: %w", err)
	}
	srv := &http.Server{Handler: profiling.Handler(), ReadHeaderTimeout: 10 * time.Second}
	end := make(chan struct{})
	g.pprof, g.pprofEnd = srv, end
	go func() {
		defer close(end)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("pprof profiling endpoint failed", "err", err)
		}
	}()
	g.log.Warn("pprof profiling endpoint enabled", "addr", ln.Addr().String())
	return nil
}
