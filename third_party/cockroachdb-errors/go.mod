module github.com/cockroachdb/errors

go 1.19

require (
	github.com/cockroachdb/datadriven v1.0.2
	github.com/cockroachdb/logtags v0.0.0-20230118201751-21c54148d20b
	github.com/cockroachdb/redact v1.1.5
	github.com/getsentry/sentry-go v0.27.0
	github.com/gogo/googleapis v1.4.1 // gogoproto 1.2-compatible, for CRDB
	github.com/gogo/protobuf v1.3.2
	github.com/gogo/status v1.1.0
	github.com/hydrogen18/memlistener v1.0.0
	github.com/kr/pretty v0.3.1
	github.com/pkg/errors v0.9.1
	github.com/stretchr/testify v1.8.2
	google.golang.org/grpc v1.56.3
	google.golang.org/protobuf v1.33.0
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/golang/protobuf v1.5.3 // indirect
	github.com/kr/text v0.2.0 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/rogpeppe/go-internal v1.9.0 // indirect
	golang.org/x/net v0.23.0 // indirect
	golang.org/x/sys v0.18.0 // indirect
	golang.org/x/text v0.14.0 // indirect
	google.golang.org/genproto v0.0.0-20230410155749-daa745c078e1 // indirect
	gopkg.in/check.v1 v1.0.0-20201130134442-10cb98267c6c // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
