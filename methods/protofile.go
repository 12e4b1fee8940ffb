package methods

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// FromProtoFiles compiles .proto files in-process. importPaths are searched
// for the files and their imports, like protoc's -I; a file outside every
// import path is found through its own directory. The well-known types
// (google/protobuf/*.proto) are always available. Syntax and link errors name
// file:line:col.
func FromProtoFiles(ctx context.Context, paths, importPaths []string) (*Set, error) {
	if len(paths) == 0 {
		return nil, errors.New("no .proto files given")
	}
	roots := append([]string(nil), importPaths...)
	names := make([]string, len(paths))
	for i, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return nil, err
		}
		rel, ok := underRoot(p, roots)
		if !ok {
			roots = append(roots, filepath.Dir(p))
			rel = filepath.Base(p)
		}
		names[i] = filepath.ToSlash(rel)
	}
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: roots}),
		Reporter: reporter.NewReporter(nil, nil), // fail on the first error, ignore warnings
	}
	linked, err := c.Compile(ctx, names...)
	if err != nil {
		return nil, compileError(err, roots)
	}
	files := new(protoregistry.Files)
	for _, f := range linked {
		if err := addWithDeps(files, f); err != nil {
			return nil, err
		}
	}
	return newSet(".proto files "+strings.Join(paths, ", "), files, nil)
}

// underRoot returns p relative to the first import path that contains it.
func underRoot(p string, roots []string) (string, bool) {
	ap, err := filepath.Abs(p)
	if err != nil {
		return "", false
	}
	for _, r := range roots {
		ar, err := filepath.Abs(r)
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(ar, ap); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return rel, true
		}
	}
	return "", false
}

// compileError rewords protocompile's errors: positions stay
// (file:line:col), a missing import names the import paths searched.
func compileError(err error, roots []string) error {
	var ewp reporter.ErrorWithPos
	if errors.As(err, &ewp) {
		pos := ewp.GetPosition()
		file := pos.Filename
		for _, r := range roots {
			if p := filepath.Join(r, file); fileExists(p) {
				file = p
				break
			}
		}
		msg := ewp.Unwrap().Error()
		if strings.Contains(msg, "file does not exist") || errors.Is(err, os.ErrNotExist) {
			msg += fmt.Sprintf(" (import paths searched: %s)", strings.Join(roots, ", "))
		}
		return fmt.Errorf("%s:%d:%d: %s", file, pos.Line, pos.Col, msg)
	}
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w (import paths searched: %s)", err, strings.Join(roots, ", "))
	}
	return err
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
