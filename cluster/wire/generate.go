package wire

// protoc is Debian's protobuf-compiler (3.21.12); protoc-gen-go runs from the module proxy,
// pinned to the version of google.golang.org/protobuf in go.mod, so the generated code
// matches its runtime.
//go:generate protoc --plugin=protoc-gen-go=./protoc-gen-go --go_out=. --go_opt=paths=source_relative wire.proto
