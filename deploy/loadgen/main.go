// Command loadgen is winback's load generator: it sends pre-signed webhook requests at a fixed
// rate (open loop) or as fast as a fixed number of connections allow (closed loop), and listens
// on any number of agent consoles for the alerts those requests cause.
//
// It only records raw times (microseconds since one common start, on Go's monotonic clock) and
// leaves every statistic to the Python harness (winback_local.bench), so the figures are computed
// in one place and tested there. Sender and consoles share one process, hence one clock: the
// webhook -> pop-up latency is alert arrival minus the request's scheduled send time.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

type options struct {
	requests    string
	target      string
	rate        float64
	duration    time.Duration
	connections int
	timeout     time.Duration
	wsURL       string
	token       string
	tokensFile  string
	consoles    int
	slow        int
	alertWait   time.Duration
	signInLimit time.Duration
	settle      time.Duration
	out         string
	cpuProfile  string
}

func parseOptions() options {
	var o options
	flag.StringVar(&o.requests, "requests", "", "JSON lines of pre-signed requests: {id, headers, body}")
	flag.StringVar(&o.target, "url", "", "where to POST every request (loopback only)")
	flag.Float64Var(&o.rate, "rate", 0, "requests per second, open loop; 0 = closed loop on -connections")
	flag.DurationVar(&o.duration, "duration", 0, "closed loop: stop starting requests after this long")
	flag.IntVar(&o.connections, "connections", 256, "HTTP connections at most")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "one request's time limit")
	flag.StringVar(&o.wsURL, "ws", "", "console websocket URL (empty: no consoles)")
	flag.StringVar(&o.token, "token", "", "agent token the consoles sign in with")
	flag.StringVar(&o.tokensFile, "tokens-file", "", "agent tokens, one a line, instead of -token: console i signs in with line i modulo their count")
	flag.IntVar(&o.consoles, "consoles", 0, "consoles that read every frame")
	flag.IntVar(&o.slow, "slow", 0, "extra consoles that stop reading after the snapshot")
	flag.DurationVar(&o.signInLimit, "signin-limit", 120*time.Second, "all consoles must sign in within this")
	flag.DurationVar(&o.settle, "settle", 0, "after every console has read its snapshot, idle this long (garbage collected first) before the first alert")
	flag.DurationVar(&o.alertWait, "alert-wait", 60*time.Second, "after sending, wait at most this long for the alerts")
	flag.StringVar(&o.out, "out", "", "directory for acks.csv, alerts.csv and summary.json")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write the generator's own CPU profile here (go tool pprof), to see what its consoles cost")
	flag.Parse()
	if o.requests == "" || o.target == "" || o.out == "" {
		fail("-requests, -url and -out are required")
	}
	for _, raw := range []string{o.target, o.wsURL} {
		if raw != "" && !loopback(raw) {
			fail("refusing non-loopback target " + raw)
		}
	}
	if o.rate <= 0 && o.duration <= 0 {
		fail("closed loop (-rate 0) needs -duration")
	}
	return o
}

func loopback(raw string) bool {
	parsed, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch parsed.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	return false
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "loadgen:", message)
	os.Exit(2)
}

// summary is what the harness reads besides the two CSV files.
type summary struct {
	Requests         int          `json:"requests"`
	Started          int          `json:"started"`
	SendingEndedUs   int64        `json:"sending_ended_us"`
	FinishedUs       int64        `json:"finished_us"`
	ConsolesReady    int          `json:"consoles_ready"`
	SignedIn         []int        `json:"signed_in"`
	ConsoleConnectUs int64        `json:"console_connect_us"`
	ConsoleErrors    []string     `json:"console_errors"`
	Slow             []slowState  `json:"slow"`
	Quiet            *quiet       `json:"quiet"`
	PingsDuring      int64        `json:"pings_during"` // pings the consoles read from the first alert on
	UnknownAlerts    int64        `json:"unknown_alerts"`
	Frames           *frameCounts `json:"frames"`
	AlertsComplete   bool         `json:"alerts_complete"`
}

func main() {
	o := parseOptions()
	reqs, err := readRequests(o.requests)
	if err != nil {
		fail(err.Error())
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		fail(err.Error())
	}
	if o.cpuProfile != "" {
		profile, err := os.Create(o.cpuProfile)
		if err != nil {
			fail(err.Error())
		}
		if err := pprof.StartCPUProfile(profile); err != nil {
			fail(err.Error())
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	index := make(map[string]int, len(reqs))
	for i, r := range reqs {
		index[r.ID] = i
	}

	var s summary
	s.Requests = len(reqs)
	var board *consoleBoard
	if o.wsURL != "" && o.consoles+o.slow > 0 {
		connectStart := time.Now()
		tokens, err := consoleTokens(o.token, o.tokensFile)
		if err != nil {
			fail(err.Error())
		}
		board, err = openConsoles(ctx, o.wsURL, tokens, o.consoles, o.slow, index, o.signInLimit)
		if err != nil {
			fail(err.Error())
		}
		s.ConsoleConnectUs = time.Since(connectStart).Microseconds()
		s.ConsolesReady = board.ready()
		s.SignedIn = board.signedIn()
		s.ConsoleErrors = board.errors()
	}

	if board != nil {
		q := board.settle(o.settle)
		s.Quiet = &q
	}
	start := time.Now()
	if board != nil {
		board.setStart(start)
		s.Quiet.AfterSnapshotUs = start.Sub(board.lastSnapshot()).Microseconds()
	}
	results := send(ctx, o, reqs, start)
	s.Started = countStarted(results)
	s.SendingEndedUs = time.Since(start).Microseconds()

	if board != nil {
		accepted := acceptedIndexes(results)
		s.AlertsComplete = board.waitFor(accepted, o.alertWait)
		board.alertsDone()
		s.PingsDuring = board.pings() - s.Quiet.PingsBefore
		s.Slow = board.closeSlow(2 * time.Second)
		s.UnknownAlerts = board.unknown.Load()
		frames := board.frameCounts()
		s.Frames = &frames
		s.ConsoleErrors = append(s.ConsoleErrors, board.errors()...)
		board.close()
	}
	s.FinishedUs = time.Since(start).Microseconds()

	if err := writeAcks(o.out, results); err != nil {
		fail(err.Error())
	}
	if board != nil {
		if err := board.writeAlerts(o.out); err != nil {
			fail(err.Error())
		}
		if err := board.writeSignIns(o.out); err != nil {
			fail(err.Error())
		}
	}
	encoded, _ := json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(o.out+"/summary.json", encoded, 0o644); err != nil {
		fail(err.Error())
	}
}

// consoleTokens is the tokens the consoles sign in with: those of tokensFile (one a line, blank
// lines skipped) if given, else token alone.
func consoleTokens(token, tokensFile string) ([]string, error) {
	if tokensFile == "" {
		return []string{token}, nil
	}
	data, err := os.ReadFile(tokensFile)
	if err != nil {
		return nil, err
	}
	var tokens []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			tokens = append(tokens, line)
		}
	}
	if len(tokens) == 0 {
		return nil, errors.New("no token in " + tokensFile)
	}
	return tokens, nil
}
