package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// slowReceiveBuffer is the slow console's socket receive buffer: small, so the notifier's sends
// to it block within a few frames, as they would for a browser tab frozen on a slow laptop.
const slowReceiveBuffer = 4096

// arrival is one alert seen by one console.
type arrival struct {
	index int
	at    time.Time
}

// console is one signed-in agent console.
type console struct {
	conn     *websocket.Conn
	slow     bool
	mu       sync.Mutex
	arrivals []arrival
	seen     map[int]struct{}
	matched  atomic.Int64
	pings    atomic.Int64     // pings the server sent that this console read (and answered)
	before   int64            // frames read after the snapshot and before the first alert
	besides  map[string]int64 // frames while the alerts arrive, by type, other than each request's first case.opened
	failed   atomic.Bool
	err      string
	stages   signInStages
}

// signInStages is how one console's sign-in went, stage by stage (microseconds), so a slow
// sign-in shows where it waited: the connection, the hello after the token, or the snapshot.
type signInStages struct {
	queuedUs   int64 // waiting for one of the generator's sign-in slots
	dialUs     int64 // TCP connect and websocket handshake
	helloUs    int64 // the token sent -> the hello read
	snapshotUs int64 // the hello read -> the snapshot read
	snapshotB  int   // the snapshot's size in bytes
	doneAt     time.Time
}

// slowState says what became of a console that stopped reading.
type slowState struct {
	FramesLeft int    `json:"frames_left"`
	Closed     string `json:"closed"`
}

type consoleBoard struct {
	consoles []*console
	index    map[string]int
	unknown  atomic.Int64
	start    time.Time
	phase    atomic.Int32 // beforeAlerts, duringAlerts (first alert due -> every console has them all), afterAlerts
	wg       sync.WaitGroup
}

type frame struct {
	Type string `json:"type"`
	Case *struct {
		ResponseID string `json:"response_id"`
	} `json:"case"`
}

// openConsoles signs in fast and slow consoles the way the browser console does (the token as
// the first message, never in the URL), waits for each one's hello and snapshot, and has each
// fast one read from then on. Sign-ins run a few at a time so they measure the notifier, not a
// thundering herd. The slow ones never read again, so they answer no pings either: the notifier
// may close them as unresponsive, which is its right.
//
// Console i signs in with tokens[i % len(tokens)]: one token for all, or one agent each.
func openConsoles(ctx context.Context, wsURL string, tokens []string, fast, slow int, index map[string]int, limit time.Duration) (*consoleBoard, error) {
	board := &consoleBoard{index: index}
	// The whole sign-in phase is bounded: consoles not in by then are counted as lost, and the
	// run goes on with those that are.
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for i := 0; i < fast+slow; i++ {
		board.consoles = append(board.consoles, &console{slow: i >= fast, seen: map[int]struct{}{}, besides: map[string]int64{}})
	}
	gate := make(chan struct{}, 32)
	var wg sync.WaitGroup
	board.start = time.Now()
	for i, c := range board.consoles {
		token := tokens[i%len(tokens)]
		select {
		case gate <- struct{}{}:
		case <-ctx.Done():
			c.failed.Store(true)
			c.err = "not signed in within the sign-in limit"
			continue
		}
		wg.Add(1)
		go func(c *console, token string) {
			defer wg.Done()
			defer func() { <-gate }()
			c.stages.queuedUs = time.Since(board.start).Microseconds()
			if err := c.signIn(ctx, wsURL, token); err != nil {
				c.failed.Store(true)
				c.err = err.Error()
				return
			}
			if !c.slow {
				// Read from the start: reading is also what answers the notifier's pings, and a
				// console left unread while the others sign in is closed as unresponsive.
				board.wg.Add(1)
				go board.read(c)
			}
		}(c, token)
	}
	wg.Wait()
	ready := board.ready()
	if ready == 0 {
		return nil, errors.New("no console could sign in: " + board.errors()[0])
	}
	return board, nil
}

func dialer(slow bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if slow {
		d.Control = func(_, _ string, raw syscall.RawConn) error {
			var sockErr error
			err := raw.Control(func(fd uintptr) {
				sockErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, slowReceiveBuffer)
			})
			if err != nil {
				return err
			}
			return sockErr
		}
	}
	return &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext}}
}

func (c *console) signIn(ctx context.Context, wsURL, token string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	began := time.Now()
	options := &websocket.DialOptions{HTTPClient: dialer(c.slow), OnPingReceived: c.countPing}
	conn, _, err := websocket.Dial(ctx, wsURL, options)
	if err != nil {
		return err
	}
	c.stages.dialUs = time.Since(began).Microseconds()
	began = time.Now()
	conn.SetReadLimit(64 << 20) // a snapshot holds up to the board limit of cases
	auth, _ := json.Marshal(map[string]string{"type": "auth", "token": token})
	if err := conn.Write(ctx, websocket.MessageText, auth); err != nil {
		conn.CloseNow()
		return err
	}
	for _, want := range []string{"hello", "snapshot"} {
		_, data, err := conn.Read(ctx)
		if err != nil {
			conn.CloseNow()
			return fmt.Errorf("waiting for %s: %w", want, err)
		}
		if frameType(data) != want {
			conn.CloseNow()
			return fmt.Errorf("expected %s, got %.120s", want, data)
		}
		if want == "hello" {
			c.stages.helloUs = time.Since(began).Microseconds()
		} else {
			c.stages.snapshotUs = time.Since(began).Microseconds() - c.stages.helloUs
			c.stages.snapshotB = len(data)
			c.stages.doneAt = time.Now()
		}
	}
	c.conn = conn
	return nil
}

// read timestamps each frame as it arrives, before decoding it, and keeps the first
// case.opened per response. One buffer per console is reused for every frame, and a frame's
// response is found without decoding the frame (responseID): at a thousand consoles, each
// decoding and allocating every frame cost this generator more CPU than the notifier spent
// sending them, and on a busy machine its readers fell seconds behind.
func (b *consoleBoard) read(c *console) {
	defer b.wg.Done()
	var buffer bytes.Buffer
	for {
		data, err := readInto(c.conn, &buffer)
		at := time.Now()
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure && !errors.Is(err, net.ErrClosed) {
				c.mu.Lock()
				c.err = err.Error()
				c.mu.Unlock()
				c.failed.Store(true)
			}
			return
		}
		kind := frameType(data)
		if kind != "case.opened" {
			c.count(kind, b.phase.Load())
			continue
		}
		i, ok := b.index[responseID(data)]
		if !ok {
			var f frame
			if json.Unmarshal(data, &f) != nil || f.Case == nil {
				c.count(kind, b.phase.Load())
				continue
			}
			i, ok = b.index[f.Case.ResponseID]
		}
		if !ok {
			b.unknown.Add(1)
			c.count(kind, b.phase.Load())
			continue
		}
		c.mu.Lock()
		if _, dup := c.seen[i]; !dup {
			c.seen[i] = struct{}{}
			c.arrivals = append(c.arrivals, arrival{index: i, at: at})
			c.matched.Add(1)
		} else if b.phase.Load() == duringAlerts {
			c.besides[kind]++
		}
		c.mu.Unlock()
	}
}

// The phases of a run, for counting the frames that are not its alerts.
const (
	beforeAlerts int32 = iota // signed in, the first alert not due yet
	duringAlerts              // the first alert due, some console still missing some alert
	afterAlerts               // every console has every alert (or the wait ran out)
)

// count records a frame that is not one of the step's alerts: before the first alert, or
// beside the alerts while they arrive (by type), so a step whose consoles also read other
// traffic (a refiner's re-codes, say) shows it. Frames after the alerts disturb nothing.
func (c *console) count(kind string, phase int32) {
	c.mu.Lock()
	switch phase {
	case beforeAlerts:
		c.before++
	case duringAlerts:
		if kind == "" {
			kind = "unknown"
		}
		c.besides[kind]++
	}
	c.mu.Unlock()
}

// frameCounts is what the reading consoles read beside the alerts: per signed-in console the
// frames from the first alert due until every console had every alert that were not a
// request's first case.opened, those summed by type, and the frames all of them read between
// their snapshot and the first alert.
type frameCounts struct {
	Besides []int64          `json:"besides"`
	ByType  map[string]int64 `json:"by_type"`
	Before  int64            `json:"before"`
}

func (b *consoleBoard) frameCounts() frameCounts {
	counts := frameCounts{Besides: []int64{}, ByType: map[string]int64{}}
	for _, c := range b.consoles {
		if c.slow || c.conn == nil {
			continue
		}
		c.mu.Lock()
		var total int64
		for kind, n := range c.besides {
			total += n
			counts.ByType[kind] += n
		}
		counts.Besides = append(counts.Besides, total)
		counts.Before += c.before
		c.mu.Unlock()
	}
	return counts
}

// frameType reads a frame's "type" without decoding (or validating) the rest: a snapshot holds
// up to the board limit of cases, a megabyte or more, and decoding a thousand of them cost this
// generator as much CPU as the notifier spent sending them. The notifier writes "type" first;
// a frame that does not is decoded whole.
func frameType(data []byte) string {
	decoder := json.NewDecoder(bytes.NewReader(data))
	if open, err := decoder.Token(); err != nil || open != json.Delim('{') {
		return ""
	}
	if key, err := decoder.Token(); err == nil && key == "type" {
		if value, err := decoder.Token(); err == nil {
			if text, ok := value.(string); ok {
				return text
			}
		}
		return ""
	}
	var f frame
	if json.Unmarshal(data, &f) != nil {
		return ""
	}
	return f.Type
}

// readInto reads the next message into buffer (emptied first) and returns its bytes, valid
// until the next call.
func readInto(conn *websocket.Conn, buffer *bytes.Buffer) ([]byte, error) {
	_, reader, err := conn.Reader(context.Background())
	if err != nil {
		return nil, err
	}
	buffer.Reset()
	if _, err := buffer.ReadFrom(reader); err != nil {
		return nil, err
	}
	return buffer.Bytes(), nil
}

var responseKey = []byte(`"response_id":"`)

// responseID is the first "response_id" string of a frame, read without decoding it: a key
// cannot occur inside a JSON string (its quotes would be escaped there). Whatever it finds
// is checked against the requests sent; a frame whose id is not found is decoded whole.
func responseID(data []byte) string {
	at := bytes.Index(data, responseKey)
	if at < 0 {
		return ""
	}
	rest := data[at+len(responseKey):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return ""
	}
	return string(rest[:end])
}

// countPing counts a ping as it is read; the library then answers it at once. A console
// answers pings only while it reads, which every reading console does from its sign-in on.
func (c *console) countPing(context.Context, []byte) bool {
	c.pings.Add(1)
	return true
}

// setStart marks the first alert due: frames read from now on are read beside the alerts.
func (b *consoleBoard) setStart(start time.Time) {
	b.start = start
	b.phase.Store(duringAlerts)
}

// alertsDone marks the end of the alerts: frames read from now on are not counted.
func (b *consoleBoard) alertsDone() { b.phase.Store(afterAlerts) }

// quiet is the pause before the first alert: every console has read its snapshot, and the
// generator collects the garbage of those snapshots (a megabyte or more each) and then idles,
// so the alerts measure the fan-out, not the tail of the sign-ins.
type quiet struct {
	AfterSnapshotUs int64 `json:"after_snapshot_us"` // the last snapshot read -> the first alert due
	CPUUs           int64 `json:"cpu_us"`            // the generator's CPU in the idle part
	PingsBefore     int64 `json:"pings_before"`      // pings read by the consoles until the first alert
}

// settle collects the garbage, then idles for pause, measuring its own CPU meanwhile.
func (b *consoleBoard) settle(pause time.Duration) quiet {
	runtime.GC()
	cpu := cpuTime()
	time.Sleep(pause)
	return quiet{CPUUs: cpuTime() - cpu, PingsBefore: b.pings()}
}

// lastSnapshot is when the last console finished reading its snapshot.
func (b *consoleBoard) lastSnapshot() time.Time {
	var last time.Time
	for _, c := range b.consoles {
		if c.conn != nil && c.stages.doneAt.After(last) {
			last = c.stages.doneAt
		}
	}
	return last
}

// pings is how many pings the consoles have read so far.
func (b *consoleBoard) pings() int64 {
	var n int64
	for _, c := range b.consoles {
		n += c.pings.Load()
	}
	return n
}

// cpuTime is this process's CPU time so far (user and system), in microseconds.
func cpuTime() int64 {
	var usage syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &usage) != nil {
		return 0
	}
	return usage.Utime.Nano()/1000 + usage.Stime.Nano()/1000
}

func (b *consoleBoard) ready() int {
	n := 0
	for _, c := range b.consoles {
		if !c.failed.Load() {
			n++
		}
	}
	return n
}

// signedIn lists the reading consoles that got their hello and snapshot.
func (b *consoleBoard) signedIn() []int {
	out := []int{}
	for n, c := range b.consoles {
		if !c.slow && c.conn != nil {
			out = append(out, n)
		}
	}
	return out
}

func (b *consoleBoard) errors() []string {
	var out []string
	for _, c := range b.consoles {
		c.mu.Lock()
		if c.err != "" {
			out = append(out, c.err)
			c.err = ""
		}
		c.mu.Unlock()
	}
	return out
}

// waitFor returns true once every reading console has as many alerts as there were accepted
// requests, false if the wait ran out first.
func (b *consoleBoard) waitFor(accepted []int, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	want := int64(len(accepted))
	for {
		complete := true
		for _, c := range b.consoles {
			if !c.slow && !c.failed.Load() && c.matched.Load() < want {
				complete = false
				break
			}
		}
		if complete {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closeSlow reads what the slow consoles left unread until the server's close (or a pause).
func (b *consoleBoard) closeSlow(pause time.Duration) []slowState {
	var states []slowState
	for _, c := range b.consoles {
		if !c.slow || c.conn == nil {
			continue
		}
		state := slowState{Closed: "still open"}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), pause)
			_, _, err := c.conn.Read(ctx)
			cancel()
			if err == nil {
				state.FramesLeft++
				continue
			}
			if status := websocket.CloseStatus(err); status != -1 {
				state.Closed = fmt.Sprintf("closed by the notifier: %d", status)
			}
			break
		}
		states = append(states, state)
	}
	return states
}

func (b *consoleBoard) close() {
	for _, c := range b.consoles {
		if c.conn != nil {
			c.conn.Close(websocket.StatusNormalClosure, "done")
		}
	}
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		for _, c := range b.consoles {
			if c.conn != nil {
				c.conn.CloseNow()
			}
		}
	}
}

// writeSignIns writes each signed-in console's sign-in stages (signin.csv).
func (b *consoleBoard) writeSignIns(dir string) error {
	file, err := os.Create(dir + "/signin.csv")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(file)
	fmt.Fprintln(w, "console,queued_us,dial_us,hello_us,snapshot_us,snapshot_bytes")
	for n, c := range b.consoles {
		if c.conn == nil {
			continue
		}
		st := c.stages
		fmt.Fprintf(w, "%d,%d,%d,%d,%d,%d\n", n, st.queuedUs, st.dialUs, st.helloUs, st.snapshotUs, st.snapshotB)
	}
	if err := w.Flush(); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

func (b *consoleBoard) writeAlerts(dir string) error {
	file, err := os.Create(dir + "/alerts.csv")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(file)
	fmt.Fprintln(w, "console,index,arrival_us")
	for n, c := range b.consoles {
		c.mu.Lock()
		for _, a := range c.arrivals {
			fmt.Fprintf(w, "%d,%d,%d\n", n, a.index, a.at.Sub(b.start).Microseconds())
		}
		c.mu.Unlock()
	}
	if err := w.Flush(); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}
