module github.com/igm/sockjs-go/v3

go 1.14

require (
	github.com/gorilla/websocket v1.4.2
	github.com/stretchr/testify v1.5.1
)
