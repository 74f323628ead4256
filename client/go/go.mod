module mnemo.dev/client/go

go 1.19

// build.sh builds in GOPATH mode against Debian 12's Go packages (no module
// proxy); these are the versions those packages hold (README.md).
require (
	github.com/golang/protobuf v1.5.2 // indirect
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
)
