package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// request is one pre-signed delivery: the harness signed it, we only replay its bytes.
type request struct {
	ID      string            `json:"id"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	body    []byte
}

// result is one request's fate; times are microseconds since the common start (-1: never).
type result struct {
	scheduledUs int64
	startedUs   int64
	doneUs      int64
	status      int
	err         string
	// connIdleUs is how long the connection the request went out on had sat idle in the pool
	// before it (-1: a new connection). A reset on a connection idle for about the server's
	// keep-alive timeout is the server closing it as the request crossed on the wire.
	connIdleUs int64
}

func readRequests(path string) ([]request, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	var reqs []request
	scanner := bufio.NewScanner(file)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	for scanner.Scan() {
		var r request
		if err := json.Unmarshal(scanner.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, len(reqs)+1, err)
		}
		r.body = []byte(r.Body)
		reqs = append(reqs, r)
	}
	return reqs, scanner.Err()
}

func newClient(o options) *http.Client {
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxConnsPerHost:     o.connections,
		MaxIdleConns:        o.connections,
		MaxIdleConnsPerHost: o.connections,
		DisableCompression:  true,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: transport, Timeout: o.timeout}
}

// send runs the requests open loop (rate > 0) or closed loop, and returns one result each.
//
// Open loop: request i is due at start + i/rate whatever happened to the others, and its
// latency is counted from that due time, so a generator or server that falls behind shows up
// as latency instead of silently sending less (coordinated omission). Requests wait for a free
// connection inside the client; that wait is part of their latency too.
func send(ctx context.Context, o options, reqs []request, start time.Time) []result {
	client := newClient(o)
	defer client.CloseIdleConnections()
	results := make([]result, len(reqs))
	for i := range results {
		results[i] = result{scheduledUs: -1, startedUs: -1, doneUs: -1, connIdleUs: -1}
	}
	var wg sync.WaitGroup
	if o.rate > 0 {
		interval := float64(time.Second) / o.rate
		for i := range reqs {
			due := start.Add(time.Duration(float64(i) * interval))
			if wait := time.Until(due); wait > 0 {
				time.Sleep(wait)
			}
			results[i].scheduledUs = due.Sub(start).Microseconds()
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				post(ctx, client, o.target, &reqs[i], start, &results[i])
			}(i)
		}
	} else {
		var next atomic.Int64
		stopAt := start.Add(o.duration)
		for w := 0; w < o.connections; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= len(reqs) || time.Now().After(stopAt) {
						return
					}
					results[i].scheduledUs = time.Since(start).Microseconds()
					post(ctx, client, o.target, &reqs[i], start, &results[i])
				}
			}()
		}
	}
	wg.Wait()
	return results
}

func post(ctx context.Context, client *http.Client, target string, r *request, start time.Time, out *result) {
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if info.Reused {
			out.connIdleUs = info.IdleTime.Microseconds()
		}
	}}
	ctx = httptrace.WithClientTrace(ctx, trace)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(r.body))
	if err != nil {
		out.err = err.Error()
		return
	}
	for name, value := range r.Headers {
		req.Header.Set(name, value)
	}
	out.startedUs = time.Since(start).Microseconds()
	resp, err := client.Do(req)
	if err != nil {
		out.doneUs = time.Since(start).Microseconds()
		out.err = errorKind(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	out.doneUs = time.Since(start).Microseconds()
	out.status = resp.StatusCode
}

// errorKind names a transport error by its kind, not its text (which carries port numbers), so
// the harness can count them; it goes into a CSV column, hence no commas.
func errorKind(err error) string {
	var netErr net.Error
	switch {
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	text := err.Error()
	if len(text) > 60 {
		text = text[len(text)-60:]
	}
	return "other: " + strings.NewReplacer(",", ";", "\n", " ").Replace(text)
}

func countStarted(results []result) int {
	n := 0
	for _, r := range results {
		if r.startedUs >= 0 {
			n++
		}
	}
	return n
}

func acceptedIndexes(results []result) []int {
	var accepted []int
	for i, r := range results {
		if r.status == http.StatusAccepted {
			accepted = append(accepted, i)
		}
	}
	return accepted
}

func writeAcks(dir string, results []result) error {
	file, err := os.Create(dir + "/acks.csv")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(file)
	fmt.Fprintln(w, "index,scheduled_us,started_us,done_us,status,error,conn_idle_us")
	for i, r := range results {
		if r.scheduledUs < 0 {
			continue // closed loop: never started before the time was up
		}
		fmt.Fprintf(w, "%d,%d,%d,%d,%d,%s,%d\n", i, r.scheduledUs, r.startedUs, r.doneUs, r.status, r.err, r.connIdleUs)
	}
	if err := w.Flush(); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}
