package methods

import (
	"fmt"
	"sync"

	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/grpcbench/grpcbench/proto/userpb"
)

var (
	builtinOnce sync.Once
	builtinSet  *Set
	builtinErr  error
)

// Builtin returns the compiled-in UserService (CreateUser, GetUser,
// ListUsers, BatchCreateUsers, SyncUsers): the default source when a
// scenario names no other.
func Builtin() *Set {
	builtinOnce.Do(func() {
		builtinSet, builtinErr = FromFiles("the built-in UserService", userpb.File_user_proto)
	})
	if builtinErr != nil {
		// The compiled-in descriptors are part of the binary: they cannot
		// be inconsistent unless the build is broken.
		panic(fmt.Sprintf("methods: built-in descriptors: %v", builtinErr))
	}
	return builtinSet
}

// addWithDeps registers fd and its imports in files, once each.
func addWithDeps(files *protoregistry.Files, fd protoreflect.FileDescriptor) error {
	if _, err := files.FindFileByPath(fd.Path()); err == nil {
		return nil
	}
	imports := fd.Imports()
	for i := range imports.Len() {
		if err := addWithDeps(files, imports.Get(i).FileDescriptor); err != nil {
			return err
		}
	}
	// Round-trip through the descriptor proto so the registry holds a
	// descriptor of its own, independent of the global registry.
	own, err := protodesc.NewFile(protodesc.ToFileDescriptorProto(fd), files)
	if err != nil {
		return err
	}
	return files.RegisterFile(own)
}

// FromFiles makes a Set of the services in the given file descriptors (and
// everything they import), e.g. descriptors compiled into a program.
func FromFiles(origin string, fds ...protoreflect.FileDescriptor) (*Set, error) {
	files := new(protoregistry.Files)
	for _, fd := range fds {
		if err := addWithDeps(files, fd); err != nil {
			return nil, err
		}
	}
	var names []string
	for _, fd := range fds {
		for i := range fd.Services().Len() {
			names = append(names, string(fd.Services().Get(i).FullName()))
		}
	}
	return newSet(origin, files, names)
}
