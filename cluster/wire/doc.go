// Package wire holds the protobuf messages Troupe's cluster members exchange, generated from
// wire.proto by protoc and protoc-gen-go (see generate.go; CI checks the generated code is
// current).
package wire
