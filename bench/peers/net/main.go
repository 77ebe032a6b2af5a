// Command netbench is the TCP echo peer and load client of goro's own benchmarks. It is
// written from the peers' spec (bench/peers/README.md, "net/") and kept in step with
// ../shared/peers by bench/peers/check.sh.
//
//	netbench server ADDR
//	netbench client ADDR CONNS SIZE MS [pingpong|stream]
//
// The server is Go's reference echo server: one goroutine per connection, package net, every
// byte read is written back. It runs until it is killed.
//
// The client is the load generator that drives every server of the comparison, so that all
// of them face the same client. It opens CONNS connections, then runs for MS milliseconds:
//
//   - pingpong: each connection writes a SIZE-byte message and reads it back; one op is one
//     round trip, and its latency is recorded.
//   - stream: each connection keeps 16 SIZE-byte messages in flight, a writer and a reader
//     per connection; one op is one message echoed, its latency runs from its write to the
//     end of its echo.
//
// Every echoed byte is checked against a pattern that depends on the connection, the
// message and the byte's position, so a lost, shifted, stale or misrouted byte is caught.
// On a mismatch or an error the client prints "FAIL echo: ..." to stderr and exits 1;
// otherwise it prints one line of key=value fields to stdout:
//
//	echo mode=M conns=C size=S ms=MS ops=N ops_per_s=X p50_us=A p99_us=B max_us=D elapsed_ms=E
//
// A usage error exits 2.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"
)

const (
	usage = "usage: netbench server ADDR | netbench client ADDR CONNS SIZE MS [pingpong|stream]"

	// inFlight is the number of messages each connection keeps in flight in stream mode.
	inFlight = 16
	// grace is how long past the end of the run a connection may still wait for its echo
	// before the client gives up on the server.
	grace = 10 * time.Second
	// dialTimeout bounds the opening of each connection.
	dialTimeout = 10 * time.Second
	// echoBuf is the server's per-connection buffer.
	echoBuf = 32 << 10
)

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 2 && args[0] == "server":
		serve(args[1])
	case (len(args) == 5 || len(args) == 6) && args[0] == "client":
		cfg, err := parseClient(args[1:])
		if err != nil {
			fmt.Fprintf(os.Stderr, "netbench: %v\n%s\n", err, usage)
			os.Exit(2)
		}
		runClient(cfg)
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
}

// serve is the echo server: it accepts forever and echoes each connection in its own
// goroutine.
func serve(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "netbench server: %v\n", err)
		os.Exit(1)
	}
	backoff := time.Millisecond
	for {
		c, err := ln.Accept()
		if err != nil {
			// Out of file descriptors, or a connection reset before it was accepted:
			// wait a little and go on, as net/http does.
			fmt.Fprintf(os.Stderr, "netbench server: accept: %v\n", err)
			time.Sleep(backoff)
			if backoff < time.Second {
				backoff *= 2
			}
			continue
		}
		backoff = time.Millisecond
		go echo(c)
	}
}

// echo writes back every byte it reads from c until c is closed or fails.
func echo(c net.Conn) {
	defer c.Close()
	buf := make([]byte, echoBuf)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

type config struct {
	addr   string
	conns  int
	size   int
	ms     int
	stream bool
}

func parseClient(args []string) (config, error) {
	cfg := config{addr: args[0]}
	for i, p := range []*int{&cfg.conns, &cfg.size, &cfg.ms} {
		v, err := strconv.Atoi(args[1+i])
		if err != nil || v <= 0 {
			return cfg, fmt.Errorf("%s must be a positive integer, not %q",
				[]string{"CONNS", "SIZE", "MS"}[i], args[1+i])
		}
		*p = v
	}
	if len(args) == 5 {
		switch args[4] {
		case "pingpong":
		case "stream":
			cfg.stream = true
		default:
			return cfg, fmt.Errorf("unknown mode %q (pingpong or stream)", args[4])
		}
	}
	return cfg, nil
}

func (cfg config) mode() string {
	if cfg.stream {
		return "stream"
	}
	return "pingpong"
}

var failMu sync.Mutex

// fail reports a failed run and exits 1. The first caller wins; the others block until
// the process is gone.
func fail(format string, args ...any) {
	failMu.Lock()
	fmt.Fprintf(os.Stderr, "FAIL echo: "+format+"\n", args...)
	os.Exit(1)
}

func runClient(cfg config) {
	conns := make([]net.Conn, cfg.conns)
	for i := range conns {
		c, err := net.DialTimeout("tcp", cfg.addr, dialTimeout)
		if err != nil {
			fail("dial %d of %d: %v", i+1, cfg.conns, err)
		}
		conns[i] = c
	}

	lats := make([][]int64, cfg.conns) // per connection, the latency of each op in ns
	var wg sync.WaitGroup
	wg.Add(cfg.conns)
	start := time.Now()
	end := start.Add(time.Duration(cfg.ms) * time.Millisecond)
	for i, c := range conns {
		go func(id int, c net.Conn) {
			defer wg.Done()
			if err := c.SetDeadline(end.Add(grace)); err != nil {
				fail("conn %d: %v", id, err)
			}
			w := worker{id: id, c: c, size: cfg.size, end: end, lat: make([]int64, 0, 1024)}
			if cfg.stream {
				w.stream()
			} else {
				w.pingpong()
			}
			lats[id] = w.lat
		}(i, c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, c := range conns {
		c.Close()
	}

	var all []int64
	for _, l := range lats {
		all = append(all, l...)
	}
	if len(all) == 0 {
		fail("no op completed in %d ms", cfg.ms)
	}
	sort.Sort(int64s(all))
	fmt.Printf("echo mode=%s conns=%d size=%d ms=%d ops=%d ops_per_s=%.0f p50_us=%d p99_us=%d max_us=%d elapsed_ms=%d\n",
		cfg.mode(), cfg.conns, cfg.size, cfg.ms, len(all), float64(len(all))/elapsed.Seconds(),
		micros(percentile(all, 50)), micros(percentile(all, 99)), micros(all[len(all)-1]),
		elapsed.Milliseconds())
}

// worker is one connection's load.
type worker struct {
	id   int
	c    net.Conn
	size int
	end  time.Time
	lat  []int64
}

// pingpong runs round trips until the end of the run.
func (w *worker) pingpong() {
	out := make([]byte, w.size)
	in := make([]byte, w.size)
	for msg := uint64(0); ; msg++ {
		fill(out, w.id, msg)
		t0 := time.Now()
		if !t0.Before(w.end) {
			return
		}
		if _, err := w.c.Write(out); err != nil {
			fail("conn %d message %d: write: %v", w.id, msg, err)
		}
		if _, err := io.ReadFull(w.c, in); err != nil {
			fail("conn %d message %d: read: %v", w.id, msg, err)
		}
		w.lat = append(w.lat, int64(time.Since(t0)))
		check(in, out, w.id, msg)
	}
}

// stream keeps inFlight messages in flight until the end of the run, then reads the echoes
// of those still outstanding. The writer runs in its own goroutine; the reader is the
// caller.
func (w *worker) stream() {
	tokens := make(chan struct{}, inFlight) // one per message written and not yet echoed
	sent := make(chan time.Time, inFlight)  // the write time of each such message, in order
	go func() {
		defer close(sent)
		out := make([]byte, w.size)
		for msg := uint64(0); ; msg++ {
			fill(out, w.id, msg)
			tokens <- struct{}{}
			t := time.Now()
			if !t.Before(w.end) {
				return
			}
			sent <- t
			if _, err := w.c.Write(out); err != nil {
				fail("conn %d message %d: write: %v", w.id, msg, err)
			}
		}
	}()
	in := make([]byte, w.size)
	want := make([]byte, w.size)
	msg := uint64(0)
	for t := range sent {
		if _, err := io.ReadFull(w.c, in); err != nil {
			fail("conn %d message %d: read: %v", w.id, msg, err)
		}
		w.lat = append(w.lat, int64(time.Since(t)))
		fill(want, w.id, msg)
		check(in, want, w.id, msg)
		<-tokens
		msg++
	}
}

// fill writes message msg of connection conn into b: a splitmix64 sequence seeded by both,
// so that no two messages and no two offsets look alike.
func fill(b []byte, conn int, msg uint64) {
	x := mix(uint64(conn)<<40 ^ msg)
	for len(b) >= 8 {
		x += 0x9e3779b97f4a7c15
		binary.LittleEndian.PutUint64(b, mix(x))
		b = b[8:]
	}
	if len(b) > 0 {
		var tail [8]byte
		binary.LittleEndian.PutUint64(tail[:], mix(x+0x9e3779b97f4a7c15))
		copy(b, tail[:])
	}
}

func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// check fails the run unless the echo got equals the message want.
func check(got, want []byte, conn int, msg uint64) {
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for got[i] == want[i] {
		i++
	}
	fail("conn %d message %d: byte %d of %d is 0x%02x, want 0x%02x",
		conn, msg, i, len(want), got[i], want[i])
}

// percentile returns the nearest-rank p-th percentile of the sorted, non-empty s.
func percentile(s []int64, p int) int64 {
	i := (len(s)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return s[i-1]
}

// micros rounds ns to whole microseconds.
func micros(ns int64) int64 { return (ns + 500) / 1000 }

type int64s []int64

func (s int64s) Len() int           { return len(s) }
func (s int64s) Less(i, j int) bool { return s[i] < s[j] }
func (s int64s) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }
