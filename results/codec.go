package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/grpcbench/grpcbench/field"
)

// maxDecodeBytes bounds how much Decode reads (1 GiB).
const maxDecodeBytes = 1 << 30

// Encode writes run to w as indented JSON. An empty run.Schema is written as
// [Schema]; any other value that is not Schema is an error.
func Encode(w io.Writer, run *Run) error {
	if run == nil {
		return errors.New("results: encode: nil run")
	}
	r := *run
	if r.Schema == "" {
		r.Schema = Schema
	}
	if r.Schema != Schema {
		return fmt.Errorf("results: encode: schema %q is not %q", r.Schema, Schema)
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&r); err != nil {
		return fmt.Errorf("results: encode: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("results: encode: %w", err)
	}
	return nil
}

// Decode reads a results file. It never trusts a length or a count it has
// not checked, and every error names the JSON path of the value at fault
// (and the line, for malformed JSON), e.g.
// "cells[3].methods.GetUser.latency.hdr: decode histogram: …".
//
// The input must be a JSON object (at most 1 GiB, nested at most 64 levels)
// whose "schema" is [Schema]. Before anything is decoded into Go values,
// one pass over the tokens checks the syntax and the headers of every
// encoded histogram ("hdr"): each may inflate to at most 1 MiB of counts
// and 2^21 buckets, and all together to at most 8 MiB plus twice the
// input's size; the per-second histograms of the series, which nothing
// else decodes here, are inflated and checksummed. The run is then decoded
// and checked with [Run.Validate].
func Decode(r io.Reader) (*Run, error) {
	data, err := readResults(r)
	if err != nil {
		return nil, err
	}
	if err := prescan(data); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var run Run
	if err := dec.Decode(&run); err != nil {
		if lerr := locate(data, reflect.TypeFor[Run](), ""); lerr != nil {
			err = lerr
		}
		return nil, fmt.Errorf("results: %w", err)
	}
	if err := run.Validate(); err != nil {
		return nil, fmt.Errorf("results: invalid results file: %w", err)
	}
	return &run, nil
}

// readResults reads the whole input, refusing at once an input that does
// not start like a JSON object (so that /dev/zero is not read to its 1 GiB
// limit) and an input larger than maxDecodeBytes.
func readResults(r io.Reader) ([]byte, error) {
	br := bufio.NewReader(io.LimitReader(r, maxDecodeBytes+1))
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil, fmt.Errorf("results: not a grpcbench results file: empty input (want a JSON object with schema %q)", Schema)
		}
		if err != nil {
			return nil, fmt.Errorf("results: read: %w", err)
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			continue
		}
		if c != '{' {
			return nil, fmt.Errorf("results: not a grpcbench results file: starts with %q (want a JSON object with schema %q)", c, Schema)
		}
		_ = br.UnreadByte()
		break
	}
	data, err := io.ReadAll(br)
	if err != nil {
		return nil, fmt.Errorf("results: read: %w", err)
	}
	if len(data) > maxDecodeBytes {
		return nil, fmt.Errorf("results: input larger than %d bytes", maxDecodeBytes)
	}
	return data, nil
}

// prescan checks what decoding would trust, before anything is decoded:
// the syntax (naming the path and line where it breaks), the nesting
// depth, the schema, and the headers of every encoded histogram against
// the bounds of [checkHDR] and a budget for the whole file. It walks the
// bytes once and allocates only the "hdr" strings.
func prescan(data []byte) error {
	if !json.Valid(data) {
		return syntaxError(data)
	}
	w := &jsonWalker{data: data}
	budget := hdrBudget(len(data))
	var schema bool
	err := w.walk(len(data), func(kind byte, raw []byte) error {
		switch {
		case w.member("schema", 1):
			if kind != '"' {
				return fmt.Errorf("not a grpcbench results file: schema is not a string (want %q)", Schema)
			}
			schema = true
			return checkSchema(unescape(raw))
		case kind == '"' && len(raw) > 0 && w.inCells() && w.member("hdr", len(w.frames)):
			n, err := checkHDR(unescape(raw), w.inArray("series"))
			if err != nil {
				return field.Errorf(w.path(), "decode histogram: %v", err)
			}
			if budget -= n; budget < 0 {
				return field.Errorf(w.path(), "the histograms of this file claim more than %d bytes of counts in all (at most 8 MiB plus twice the file's size are accepted)", hdrBudget(len(data)))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !schema {
		return fmt.Errorf("not a grpcbench results file: no \"schema\" field (want %q)", Schema)
	}
	return nil
}

// hdrBudget is the total counts payload the histograms of a results file of
// n bytes may inflate to: 8 MiB plus twice its size (files grpcbench writes
// hold about a third of their size).
func hdrBudget(n int) int { return 8<<20 + 2*n }

func checkSchema(s string) error {
	switch {
	case s == Schema:
		return nil
	case strings.HasPrefix(s, "grpcbench/results/"):
		return fmt.Errorf("unsupported results schema %q (this grpcbench reads %q)", s, Schema)
	}
	return fmt.Errorf("not a grpcbench results file: schema %q (want %q)", s, Schema)
}

// WriteFile writes run to path atomically: it encodes into a temporary file
// in the same directory, syncs it to disk, and renames it over path, so
// readers see either the old file or the complete new one. On error the
// temporary file is removed and path is untouched.
func WriteFile(path string, run *Run) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("results: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = Encode(f, run); err != nil {
		return fmt.Errorf("results: write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("results: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("results: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("results: write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("results: write %s: %w", path, err)
	}
	// Persist the rename itself; a failure here does not undo the write.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// ReadFile reads and decodes the results file at path.
func ReadFile(path string) (*Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	run, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return run, nil
}
