package httpapi

import (
	"embed"
	"io/fs"
	"net/http"
)

// dashboardFiles are the dashboard's page, script and MQTT client: served
// by the binary, no CDN, no build step.
//
//go:embed dashboard
var dashboardFiles embed.FS

// dashboard serves the files under /dashboard/. The page holds no data:
// it signs in with a username and password (POST /api/v1/login) or an API
// key and calls the API like any client, so it needs no credentials
// itself.
func dashboard() http.Handler {
	sub, err := fs.Sub(dashboardFiles, "dashboard")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return http.StripPrefix("/dashboard/", http.FileServerFS(sub))
}
