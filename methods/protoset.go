package methods

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// FromProtoset reads FileDescriptorSet files (protoc --descriptor_set_out
// --include_imports, or buf build -o) into one Set. A file that is not a
// descriptor set, or a set that lacks an import, is an error naming the file.
func FromProtoset(paths ...string) (*Set, error) {
	if len(paths) == 0 {
		return nil, errors.New("no protoset files given")
	}
	var all []*descriptorpb.FileDescriptorProto
	seen := map[string]bool{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		fds, err := parseProtoset(p, data)
		if err != nil {
			return nil, err
		}
		for _, f := range fds {
			if !seen[f.GetName()] {
				seen[f.GetName()] = true
				all = append(all, f)
			}
		}
	}
	files, err := newFiles(all)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (was it written with --include_imports?)", strings.Join(paths, ", "), err)
	}
	return newSet("protoset "+strings.Join(paths, ", "), files, nil)
}

// parseProtoset decodes one protoset file's bytes.
func parseProtoset(name string, data []byte) ([]*descriptorpb.FileDescriptorProto, error) {
	var fds descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(data, &fds); err != nil {
		return nil, fmt.Errorf("%s: not a protoset (a FileDescriptorSet, as written by protoc --descriptor_set_out): %w", name, err)
	}
	if len(fds.File) == 0 {
		return nil, fmt.Errorf("%s: not a protoset: it holds no file descriptors", name)
	}
	for _, f := range fds.File {
		if f.GetName() == "" {
			return nil, fmt.Errorf("%s: not a protoset: a file descriptor has no name", name)
		}
	}
	return fds.File, nil
}

// newFiles links file descriptor protos into a registry. Imports of the
// well-known types missing from the set are taken from the ones compiled
// into the binary.
func newFiles(fdps []*descriptorpb.FileDescriptorProto) (*protoregistry.Files, error) {
	byName := make(map[string]*descriptorpb.FileDescriptorProto, len(fdps))
	for _, f := range fdps {
		byName[f.GetName()] = f
	}
	files := new(protoregistry.Files)
	var add func(name string, stack []string) error
	add = func(name string, stack []string) error {
		if _, err := files.FindFileByPath(name); err == nil {
			return nil
		}
		for _, s := range stack {
			if s == name {
				return fmt.Errorf("import cycle: %s", strings.Join(append(stack, name), " → "))
			}
		}
		fdp, ok := byName[name]
		if !ok {
			if wk, err := protoregistry.GlobalFiles.FindFileByPath(name); err == nil && strings.HasPrefix(name, "google/protobuf/") {
				return addWithDeps(files, wk)
			}
			return fmt.Errorf("file %q is imported but not in the set", name)
		}
		for _, dep := range fdp.GetDependency() {
			if err := add(dep, append(stack, name)); err != nil {
				return err
			}
		}
		fd, err := protodesc.NewFile(fdp, files)
		if err != nil {
			return fmt.Errorf("file %s: %w", name, err)
		}
		return files.RegisterFile(fd)
	}
	for _, f := range fdps {
		if err := add(f.GetName(), nil); err != nil {
			return nil, err
		}
	}
	return files, nil
}
