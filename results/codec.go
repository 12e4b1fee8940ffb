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
	"strings"
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

// Decode reads a results file. It checks the format before anything else:
// the input must be a JSON object whose "schema" is [Schema]. It then decodes
// the histograms and checks the run's structure with [Run.Validate].
func Decode(r io.Reader) (*Run, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDecodeBytes+1))
	if err != nil {
		return nil, fmt.Errorf("results: read: %w", err)
	}
	if len(data) > maxDecodeBytes {
		return nil, fmt.Errorf("results: input larger than %d bytes", maxDecodeBytes)
	}
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&head); err != nil {
		return nil, fmt.Errorf("results: not a grpcbench results file (want JSON with schema %q): %w", Schema, err)
	}
	switch {
	case head.Schema == nil:
		return nil, fmt.Errorf("results: not a grpcbench results file: no \"schema\" field (want %q)", Schema)
	case *head.Schema != Schema:
		if strings.HasPrefix(*head.Schema, "grpcbench/results/") {
			return nil, fmt.Errorf("results: unsupported results schema %q (this grpcbench reads %q)", *head.Schema, Schema)
		}
		return nil, fmt.Errorf("results: not a grpcbench results file: schema %q (want %q)", *head.Schema, Schema)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var run Run
	if err := dec.Decode(&run); err != nil {
		return nil, fmt.Errorf("results: decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("results: decode: trailing data after the results object")
	}
	if err := run.Validate(); err != nil {
		return nil, fmt.Errorf("results: invalid results file: %w", err)
	}
	return &run, nil
}

// Validate checks the structure of a run: the schema, cells present and
// with unique non-empty IDs, one param per dimension, and non-negative
// counters. It returns every problem joined, each naming its JSON path.
func (r *Run) Validate() error {
	var errs []error
	if r.Schema != Schema {
		errs = append(errs, fmt.Errorf("schema: %q is not %q", r.Schema, Schema))
	}
	if sh := r.Shard; sh != nil && (sh.Count < 1 || sh.Index < 0 || sh.Index >= sh.Count) {
		errs = append(errs, fmt.Errorf("shard: index %d is not in [0, count=%d)", sh.Index, sh.Count))
	}
	seen := make(map[string]int, len(r.Cells))
	for i, c := range r.Cells {
		p := fmt.Sprintf("cells[%d]", i)
		if c == nil {
			errs = append(errs, fmt.Errorf("%s: null cell", p))
			continue
		}
		if c.ID == "" {
			errs = append(errs, fmt.Errorf("%s.id: empty", p))
		} else if j, dup := seen[c.ID]; dup {
			errs = append(errs, fmt.Errorf("%s.id: %q duplicates cells[%d]", p, c.ID, j))
		} else {
			seen[c.ID] = i
		}
		if len(r.Dimensions) > 0 && len(c.Params) != len(r.Dimensions) {
			errs = append(errs, fmt.Errorf("%s.params: %d params for %d dimensions", p, len(c.Params), len(r.Dimensions)))
		}
		if c.Duration < 0 {
			errs = append(errs, fmt.Errorf("%s.duration_ns: negative", p))
		}
		for name, m := range c.Methods {
			if m == nil {
				errs = append(errs, fmt.Errorf("%s.methods.%s: null", p, name))
				continue
			}
			if err := m.validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s.methods.%s.%w", p, name, err))
			}
		}
		if c.All != nil {
			if err := c.All.validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s.all.%w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (m *MethodStats) validate() error {
	switch {
	case m.Calls < 0:
		return errors.New("calls: negative")
	case m.Errors < 0 || m.Errors > m.Calls:
		return fmt.Errorf("errors: %d not in [0, calls=%d]", m.Errors, m.Calls)
	}
	return nil
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
