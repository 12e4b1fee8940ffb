package report_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
)

// cdp is a minimal Chrome DevTools Protocol client over
// --remote-debugging-pipe (fd 3: commands in, fd 4: replies and events
// out, each message JSON terminated by NUL), using only the standard
// library.
type cdp struct {
	w      io.WriteCloser
	mu     sync.Mutex
	nextID int
	wait   map[int]chan cdpMsg
	events []cdpMsg
	notify chan struct{}
	done   chan struct{}
}

type cdpMsg struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func newCDP(r io.ReadCloser, w io.WriteCloser) *cdp {
	c := &cdp{w: w, wait: map[int]chan cdpMsg{}, notify: make(chan struct{}, 1), done: make(chan struct{})}
	go c.read(r)
	return c
}

func (c *cdp) read(r io.ReadCloser) {
	defer close(c.done)
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		b, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m cdpMsg
		if json.Unmarshal(b[:len(b)-1], &m) != nil {
			continue
		}
		c.mu.Lock()
		if m.ID != 0 {
			if ch := c.wait[m.ID]; ch != nil {
				ch <- m
				delete(c.wait, m.ID)
			}
		} else {
			c.events = append(c.events, m)
			select {
			case c.notify <- struct{}{}:
			default:
			}
		}
		c.mu.Unlock()
	}
}

// call sends a command and waits for its reply.
func (c *cdp) call(ctx context.Context, session, method string, params any, result any) error {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan cdpMsg, 1)
	c.wait[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := c.w.Write(append(b, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-c.done:
		return fmt.Errorf("%s: browser closed the pipe", method)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// waitEvent waits for an event named method.
func (c *cdp) waitEvent(ctx context.Context, method string) error {
	for {
		c.mu.Lock()
		for _, e := range c.events {
			if e.Method == method {
				c.mu.Unlock()
				return nil
			}
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-c.done:
			return fmt.Errorf("waiting for %s: browser closed the pipe", method)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", method, ctx.Err())
		}
	}
}

// problems lists console errors, uncaught exceptions, log errors and
// dialogs (an alert would mean injected script ran).
func (c *cdp) problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.events {
		switch e.Method {
		case "Runtime.consoleAPICalled":
			var p struct {
				Type string            `json:"type"`
				Args []json.RawMessage `json:"args"`
			}
			_ = json.Unmarshal(e.Params, &p)
			if p.Type == "error" || p.Type == "assert" || p.Type == "warning" {
				out = append(out, fmt.Sprintf("console.%s: %s", p.Type, e.Params))
			}
		case "Runtime.exceptionThrown":
			out = append(out, "exception: "+string(e.Params))
		case "Log.entryAdded":
			var p struct {
				Entry struct {
					Level string `json:"level"`
				} `json:"entry"`
			}
			_ = json.Unmarshal(e.Params, &p)
			if p.Entry.Level == "error" {
				out = append(out, "log error: "+string(e.Params))
			}
		case "Page.javascriptDialogOpening":
			out = append(out, "dialog opened (script ran?): "+string(e.Params))
		}
	}
	return out
}

// chromium returns the browser to test with. It fails the test when the
// browser is missing, unless GRPCBENCH_SKIP_BROWSER=1.
func chromium(t *testing.T) string {
	t.Helper()
	if os.Getenv("GRPCBENCH_SKIP_BROWSER") == "1" {
		t.Skip("GRPCBENCH_SKIP_BROWSER=1")
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: install Debian's chromium (scripts/install-tools.sh) or set GRPCBENCH_SKIP_BROWSER=1")
	return ""
}

// pageState is what the test reads back from the loaded page.
type pageState struct {
	Images       int       `json:"images"`
	Natural      []int     `json:"natural"`
	DataImages   string    `json:"dataImages"`
	DataLoaded   string    `json:"dataLoaded"`
	DataErrors   string    `json:"dataErrors"`
	Text         string    `json:"text"`
	Rows         int       `json:"rows"`
	SortedP99    []float64 `json:"sortedP99"`
	SortedHeader string    `json:"sortedHeader"`
}

const pageProbe = `(() => {
  const imgs = Array.from(document.images);
  const th = Array.from(document.querySelectorAll("table.summary thead th")).find(h => h.textContent.startsWith("p99 ms"));
  th.click();
  const col = Array.from(th.parentNode.cells).indexOf(th);
  const sorted = Array.from(document.querySelectorAll("table.summary tbody tr"))
    .map(r => r.cells[col].getAttribute("data-v")).filter(v => v !== "").map(Number);
  return JSON.stringify({
    images: imgs.length,
    natural: imgs.map(i => i.naturalWidth),
    dataImages: document.body.getAttribute("data-images"),
    dataLoaded: document.body.getAttribute("data-images-loaded"),
    dataErrors: document.body.getAttribute("data-errors"),
    text: document.body.innerText,
    rows: document.querySelectorAll("table.summary tbody tr").length,
    sortedP99: sorted,
    sortedHeader: th.getAttribute("aria-sort"),
  });
})()`

// TestBrowser opens the report from disk in headless Chromium and checks
// that it renders: no console errors, every image loaded, a non-blank
// screenshot, escaped names shown as text, a working sortable table.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	evil := "<script>alert(1)</script>"
	base := synth{name: evil, dims: []dim{{"client.pool.size", []string{"1", "4"}}, {"client.lb.policy", []string{"pick_first", evil}}}, secs: 12, perSec: 50, seed: 3}
	cand := base
	cand.seed = 4
	runs := []*results.Run{base.run(t), cand.run(t)}
	dir := t.TempDir()
	opts := report.Options{RunLabels: []string{"baseline", "new " + evil},
		Verdicts: []report.Verdict{{Cell: evil, Name: "p99", Value: "12ms", Limit: "< 150ms", Pass: true}}}
	if err := report.Write(context.Background(), dir, runs, opts); err != nil {
		t.Fatal(err)
	}
	index, err := filepath.Abs(filepath.Join(dir, report.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "*.png"))

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	inR, inW, err := os.Pipe() // commands: we write, the browser reads fd 3
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe() // replies: the browser writes fd 4
	if err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,2000",
		"--user-data-dir="+profile, "--remote-debugging-pipe", "about:blank")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.ExtraFiles = []*os.File{inR, outW}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	inR.Close()
	outW.Close()
	c := newCDP(outR, inW)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		closeCtx, cancelClose := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancelClose()
		_ = c.call(closeCtx, "", "Browser.close", nil, nil)
		inW.Close()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill() // the browser we started, by its process
			<-exited
		}
		<-c.done
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", stderr.String())
		}
	}()

	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := c.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		t.Fatal(err)
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		t.Fatal(err)
	}
	s := attached.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		if err := c.call(ctx, s, m, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.call(ctx, s, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 2000, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.call(ctx, s, "Page.navigate", map[string]any{"url": "file://" + index}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.waitEvent(ctx, "Page.loadEventFired"); err != nil {
		t.Fatal(err)
	}
	var eval struct {
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
		ExceptionDetails json.RawMessage `json:"exceptionDetails"`
	}
	if err := c.call(ctx, s, "Runtime.evaluate", map[string]any{"expression": pageProbe, "returnByValue": true}, &eval); err != nil {
		t.Fatal(err)
	}
	if len(eval.ExceptionDetails) > 0 {
		t.Fatalf("probe threw: %s", eval.ExceptionDetails)
	}
	var st pageState
	if err := json.Unmarshal([]byte(eval.Result.Value), &st); err != nil {
		t.Fatalf("probe result %q: %v", eval.Result.Value, err)
	}
	var shot struct {
		Data string `json:"data"`
	}
	if err := c.call(ctx, s, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &shot); err != nil {
		t.Fatal(err)
	}

	if p := c.problems(); len(p) > 0 {
		t.Errorf("console errors, exceptions or dialogs:\n%s", strings.Join(p, "\n"))
	}
	if st.Images != len(pngs) || st.Images == 0 {
		t.Errorf("page has %d images, want one per chart (%d PNG files)", st.Images, len(pngs))
	}
	for i, w := range st.Natural {
		if w <= 0 {
			t.Errorf("image %d did not load (naturalWidth %d)", i, w)
		}
	}
	if st.DataLoaded != st.DataImages || st.DataErrors != "0" {
		t.Errorf("page self-check: %s of %s images loaded, %s errors", st.DataLoaded, st.DataImages, st.DataErrors)
	}
	if want := 2 * 4; st.Rows != want {
		t.Errorf("summary table has %d rows, want %d", st.Rows, want)
	}
	if !strings.Contains(st.Text, evil) {
		t.Errorf("page text does not show the escaped name %q", evil)
	}
	if st.SortedHeader != "ascending" {
		t.Errorf("p99 header aria-sort = %q after a click, want ascending", st.SortedHeader)
	}
	for i := 1; i < len(st.SortedP99); i++ {
		if st.SortedP99[i] < st.SortedP99[i-1] {
			t.Errorf("p99 column not sorted ascending after a click: %v", st.SortedP99)
			break
		}
	}

	raw, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatal(err)
	}
	// GRPCBENCH_SCREENSHOT=path keeps the screenshot (e.g. as a CI artifact).
	if keep := os.Getenv("GRPCBENCH_SCREENSHOT"); keep != "" {
		if err := os.WriteFile(keep, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := nonBlank(img); err != nil {
		t.Errorf("screenshot: %v", err)
	}
}

// nonBlank checks that an image has content: a good share of pixels that
// are not the background colour, and many distinct colours.
func nonBlank(img image.Image) error {
	b := img.Bounds()
	if b.Dx() < 100 || b.Dy() < 100 {
		return fmt.Errorf("too small: %v", b)
	}
	bg := img.At(b.Min.X, b.Min.Y)
	br, bgG, bb, _ := bg.RGBA()
	colors := map[uint32]bool{}
	differ, total := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			total++
			if r != br || g != bgG || bl != bb {
				differ++
			}
			colors[(r>>11)<<10|(g>>11)<<5|bl>>11] = true
		}
	}
	if differ*100 < total*2 {
		return fmt.Errorf("blank: only %d of %d sampled pixels differ from the background", differ, total)
	}
	if len(colors) < 16 {
		return errors.New("blank: fewer than 16 distinct colours")
	}
	return nil
}
