package agentapi

// The generated code is checked in; regenerating it needs Debian's
// protobuf-compiler and the two plugins, at the versions go.mod has:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install github.com/containerd/ttrpc/cmd/protoc-gen-go-ttrpc@v1.2.10
//
//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-ttrpc_out=. --go-ttrpc_opt=paths=source_relative agent.proto
