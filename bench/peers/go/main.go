// Command gobench is the Go peer of goro's own benchmarks: the workloads of
// bench/peers/README.md written with goroutines, channels, select, sync.WaitGroup,
// time.Sleep and sync/atomic, with the CLI and result line every peer shares. It is kept in
// step with the reference peers of ../shared/peers by bench/peers/check.sh.
//
//	gobench WORKLOAD [N]        GOMAXPROCS from the environment (unset: one per CPU)
//
// A failed check prints "FAIL <workload>: <what>" on stderr and exits 1; a usage error exits 2.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// result is what one run produced: the effective N, the timed wall-clock duration and the
// workload's extra " key=value" fields.
type result struct {
	n      int64
	wall   time.Duration
	fields string
}

type workload struct {
	defaultN int64
	run      func(n int64) result
}

var workloads = map[string]workload{
	"pingpong": {1_000_000, pingpong},
	"spsc":     {10_000_000, spsc},
	"mpmc":     {10_000_000, mpmc},
	"fanin":    {2_000_000, fanin},
	"select2":  {10_000_000, select2},
	"spawn":    {1_000_000, spawn},
	"idle":     {100_000, idle},
	"sieve":    {3_000, sieve},
	"workers":  {2_000_000, workers},
	"timers":   {10_000, timers},
	"syscall":  {4_000_000, syscallShort},
	"blocking": {200, blocking},
	"hog":      {20, hog},
}

// require ends the process with the check's message when ok is false.
func require(ok bool, name, what string) {
	if !ok {
		fmt.Fprintf(os.Stderr, "FAIL %s: %s\n", name, what)
		os.Exit(1)
	}
}

func maxRSSKiB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss
}

// pingpong: two goroutines, two unbuffered channels; A sends i and expects i back.
func pingpong(n int64) result {
	a, b := make(chan int64), make(chan int64)
	var wg sync.WaitGroup
	ok := true
	wg.Add(2)
	start := time.Now()
	go func() {
		defer wg.Done()
		for i := int64(0); i < n; i++ {
			a <- i
			if <-b != i {
				ok = false
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := int64(0); i < n; i++ {
			b <- <-a
		}
	}()
	wg.Wait()
	wall := time.Since(start)
	require(ok, "pingpong", "a reply differed from its request")
	return result{n, wall, ""}
}

// spsc: 0..N-1 through a channel of capacity 1024, then close; the consumer checks the order.
func spsc(n int64) result {
	c := make(chan int64, 1024)
	var wg sync.WaitGroup
	var got int64
	inOrder := true
	wg.Add(2)
	start := time.Now()
	go func() {
		defer wg.Done()
		for i := int64(0); i < n; i++ {
			c <- i
		}
		close(c)
	}()
	go func() {
		defer wg.Done()
		for v := range c {
			if v != got {
				inOrder = false
			}
			got++
		}
	}()
	wg.Wait()
	wall := time.Since(start)
	require(inOrder && got == n, "spsc", "values lost, repeated or out of order")
	return result{n, wall, ""}
}

// mpmc: 4 producers send disjoint quarters of 0..N-1 into one channel of capacity 1024, 4
// consumers drain it; main closes it once the producers are done. Checks count and sum.
func mpmc(n int64) result {
	const k = 4
	c := make(chan int64, 1024)
	var producers, consumers sync.WaitGroup
	var sum, count int64
	producers.Add(k)
	consumers.Add(k)
	start := time.Now()
	for p := int64(0); p < k; p++ {
		go func(p int64) {
			defer producers.Done()
			for i := n * p / k; i < n*(p+1)/k; i++ {
				c <- i
			}
		}(p)
	}
	for q := 0; q < k; q++ {
		go func() {
			defer consumers.Done()
			var s, m int64
			for v := range c {
				s += v
				m++
			}
			atomic.AddInt64(&sum, s)
			atomic.AddInt64(&count, m)
		}()
	}
	producers.Wait()
	close(c)
	consumers.Wait()
	wall := time.Since(start)
	require(count == n && sum == n*(n-1)/2, "mpmc", "wrong count or sum")
	return result{n, wall, ""}
}

// fanin: 100 senders on one unbuffered channel to one receiver; sender s sends s*k..s*k+k-1.
// N is rounded down to a multiple of 100 (at least 100). Checks the sum and per-sender order.
func fanin(n int64) result {
	const senders = 100
	if n < senders {
		n = senders
	}
	n -= n % senders
	k := n / senders
	c := make(chan int64)
	var wg sync.WaitGroup
	var sum int64
	inOrder := true
	wg.Add(senders + 1)
	start := time.Now()
	for s := int64(0); s < senders; s++ {
		go func(s int64) {
			defer wg.Done()
			for j := int64(0); j < k; j++ {
				c <- s*k + j
			}
		}(s)
	}
	go func() {
		defer wg.Done()
		next := make([]int64, senders)
		for s := range next {
			next[s] = int64(s) * k
		}
		for i := int64(0); i < n; i++ {
			v := <-c
			sum += v
			if v != next[v/k] {
				inOrder = false
			}
			next[v/k] = v + 1
		}
	}()
	wg.Wait()
	wall := time.Since(start)
	require(inOrder && sum == n*(n-1)/2, "fanin", "wrong sum or a sender out of order")
	return result{n, wall, ""}
}

// select2: 0..h-1 on a, h..N-1 on b (capacity 128 each), each closed when done; one consumer
// selects over both, setting a closed channel to nil so its case is never chosen again. N is
// rounded down to even. Checks per-channel order and h values from each.
func select2(n int64) result {
	if n < 2 {
		n = 2
	}
	n -= n % 2
	h := n / 2
	a, b := make(chan int64, 128), make(chan int64, 128)
	var wg sync.WaitGroup
	var gotA, gotB int64
	inOrder := true
	wg.Add(3)
	start := time.Now()
	send := func(c chan int64, from, to int64) {
		defer wg.Done()
		for i := from; i < to; i++ {
			c <- i
		}
		close(c)
	}
	go send(a, 0, h)
	go send(b, h, n)
	go func() {
		defer wg.Done()
		ca, cb := a, b
		for ca != nil || cb != nil {
			select {
			case v, ok := <-ca:
				if !ok {
					ca = nil
					continue
				}
				if v != gotA {
					inOrder = false
				}
				gotA++
			case v, ok := <-cb:
				if !ok {
					cb = nil
					continue
				}
				if v != h+gotB {
					inOrder = false
				}
				gotB++
			}
		}
	}()
	wg.Wait()
	wall := time.Since(start)
	require(inOrder && gotA == h && gotB == h, "select2", "values lost or out of order")
	return result{n, wall, ""}
}

// spawn: N goroutines spawned without yielding, each bumps a counter and is waited for.
func spawn(n int64) result {
	var wg sync.WaitGroup
	var count int64
	wg.Add(int(n))
	start := time.Now()
	for i := int64(0); i < n; i++ {
		go func() {
			atomic.AddInt64(&count, 1)
			wg.Done()
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	require(atomic.LoadInt64(&count) == n, "spawn", "a goroutine did not run")
	return result{n, wall, ""}
}

// idle: N goroutines block receiving on one unbuffered channel until main closes it; reports
// the growth of peak RSS per goroutine. Checks every receive saw the close.
func idle(n int64) result {
	c := make(chan int64)
	var ready, done sync.WaitGroup
	var closed int64
	rss0 := maxRSSKiB()
	ready.Add(int(n))
	done.Add(int(n))
	start := time.Now()
	for i := int64(0); i < n; i++ {
		go func() {
			ready.Done()
			if _, ok := <-c; !ok {
				atomic.AddInt64(&closed, 1)
			}
			done.Done()
		}()
	}
	ready.Wait()
	close(c)
	done.Wait()
	wall := time.Since(start)
	require(atomic.LoadInt64(&closed) == n, "idle", "a receive did not report the close")
	perTask := float64(maxRSSKiB()-rss0) * 1024 / float64(n)
	return result{n, wall, fmt.Sprintf(" rss_per_task_b=%.0f", perTask)}
}

// sieve: the classic concurrent prime sieve over unbuffered channels. As in the classic
// program, the chain is left blocked: the process exits right after.
func sieve(n int64) result {
	start := time.Now()
	tail := make(chan int64)
	go func(out chan<- int64) {
		for i := int64(2); ; i++ {
			out <- i
		}
	}(tail)
	primes := make([]int64, 0, n)
	for i := int64(0); i < n; i++ {
		p := <-tail
		primes = append(primes, p)
		next := make(chan int64)
		go func(in <-chan int64, out chan<- int64, p int64) {
			for v := range in {
				if v%p != 0 {
					out <- v
				}
			}
		}(tail, next, p)
		tail = next
	}
	wall := time.Since(start)
	want := make([]int64, 0, n)
	for v := int64(2); int64(len(want)) < n; v++ {
		prime := true
		for _, d := range want {
			if d*d > v {
				break
			}
			if v%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			want = append(want, v)
		}
	}
	same := len(primes) == len(want)
	for i := 0; same && i < len(want); i++ {
		same = primes[i] == want[i]
	}
	require(same, "sieve", "the primes differ from trial division's")
	return result{n, wall, ""}
}

// jobTable is T[i] = 7919*i mod 1000, the fixed table job() reads.
var jobTable = func() (t [1024]int64) {
	for i := range t {
		t[i] = int64(i) * 7919 % 1000
	}
	return
}()

func job(j int64) int64 {
	var s int64
	for k := int64(0); k < 100; k++ {
		s += jobTable[(j+k)&1023]
	}
	return s
}

// workers: a feeder, 8 workers and a collector over jobs and results (capacity 100 each).
// Checks the sum of the results against a sequential one.
func workers(n int64) result {
	const k = 8
	jobs, results := make(chan int64, 100), make(chan int64, 100)
	var wg sync.WaitGroup
	var sum int64
	wg.Add(k + 2)
	start := time.Now()
	go func() {
		defer wg.Done()
		for j := int64(0); j < n; j++ {
			jobs <- j
		}
		close(jobs)
	}()
	for w := 0; w < k; w++ {
		go func() {
			defer wg.Done()
			for j := range jobs {
				results <- job(j)
			}
		}()
	}
	go func() {
		defer wg.Done()
		for i := int64(0); i < n; i++ {
			sum += <-results
		}
	}()
	wg.Wait()
	wall := time.Since(start)
	var want int64
	for j := int64(0); j < n; j++ {
		want += job(j)
	}
	require(sum == want, "workers", "the results' sum is wrong")
	return result{n, wall, ""}
}

// wallFields are the " wall_ms=.. vs_ideal=.." fields of a run whose ideal is ideal.
func wallFields(wall, ideal time.Duration) string {
	return fmt.Sprintf(" wall_ms=%.2f vs_ideal=%.2f", float64(wall)/1e6, float64(wall)/float64(ideal))
}

// timers: N goroutines each sleep 1 ms ten times. Checks 10*N sleeps and wall >= 10 ms.
func timers(n int64) result {
	return tenEach(n, "timers", "sleeps missing or under 10 ms", func() { time.Sleep(time.Millisecond) })
}

// tenEach runs N goroutines that each call op, a 1 ms wait of some kind, ten times; it checks
// 10*N calls and a wall time of at least 10 ms and reports wall_ms and vs_ideal against 10 ms.
func tenEach(n int64, name, what string, op func()) result {
	var wg sync.WaitGroup
	var calls int64
	wg.Add(int(n))
	start := time.Now()
	for i := int64(0); i < n; i++ {
		go func() {
			defer wg.Done()
			for r := 0; r < 10; r++ {
				op()
				atomic.AddInt64(&calls, 1)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	require(atomic.LoadInt64(&calls) == 10*n && wall >= 10*time.Millisecond, name, what)
	return result{n, wall, wallFields(wall, 10*time.Millisecond)}
}

// syscallShort: 4 goroutines make N/4 getppid calls each through syscall.Syscall, which
// enters and leaves the scheduler's syscall state. N is rounded down to a multiple of 4.
func syscallShort(n int64) result {
	const k = 4
	if n < k {
		n = k
	}
	n -= n % k
	want := uintptr(os.Getppid())
	var wg sync.WaitGroup
	var bad int64
	wg.Add(k)
	start := time.Now()
	for g := 0; g < k; g++ {
		go func() {
			defer wg.Done()
			var wrong int64
			for i := int64(0); i < n/k; i++ {
				if pid, _, _ := syscall.Syscall(syscall.SYS_GETPPID, 0, 0, 0); pid != want {
					wrong++
				}
			}
			atomic.AddInt64(&bad, wrong)
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	require(atomic.LoadInt64(&bad) == 0, "syscall", "getppid returned another value")
	return result{n, wall, ""}
}

// blocking: N goroutines each block their thread in nanosleep(1 ms) ten times.
func blocking(n int64) result {
	return tenEach(n, "blocking", "missing calls or under 10 ms", func() {
		ts := syscall.Timespec{Nsec: 1_000_000}
		for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
		}
	})
}

// hog: 2*P goroutines compute without blocking while one more sleeps 1 ms N times; timed
// until that goroutine's last wakeup. Only preemption lets the sleeper run on time.
func hog(n int64) result {
	hogs := 2 * runtime.GOMAXPROCS(0)
	var stop int32
	var sink uint64
	var wg sync.WaitGroup
	wg.Add(hogs + 1)
	var wall time.Duration
	start := time.Now()
	for h := 0; h < hogs; h++ {
		go func() {
			defer wg.Done()
			x := uint64(1)
			for atomic.LoadInt32(&stop) == 0 {
				for i := 0; i < 1000; i++ {
					x = x*6364136223846793005 + 1442695040888963407
				}
			}
			atomic.AddUint64(&sink, x&1)
		}()
	}
	go func() {
		defer wg.Done()
		for i := int64(0); i < n; i++ {
			time.Sleep(time.Millisecond)
		}
		wall = time.Since(start)
		atomic.StoreInt32(&stop, 1)
	}()
	wg.Wait()
	ideal := time.Duration(n) * time.Millisecond
	require(wall >= ideal, "hog", "finished under N ms")
	return result{n, wall, fmt.Sprintf(" hogs=%d", hogs) + wallFields(wall, ideal)}
}

func usage() {
	names := make([]string, 0, len(workloads))
	for name := range workloads {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: gobench WORKLOAD [N]\nworkloads: %v\n", names)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		usage()
	}
	name := os.Args[1]
	w, ok := workloads[name]
	if !ok {
		usage()
	}
	n := w.defaultN
	if len(os.Args) == 3 {
		v, err := strconv.ParseInt(os.Args[2], 10, 64)
		if err != nil || v < 1 || v > 1<<31-1 {
			fmt.Fprintf(os.Stderr, "gobench: bad N '%s' (want 1..2^31-1)\n", os.Args[2])
			os.Exit(2)
		}
		n = v
	}
	r := w.run(n)
	ns := float64(r.wall.Nanoseconds())
	fmt.Printf("%s N=%d ns_per_op=%.1f ops_per_s=%.0f maxrss_kb=%d gomaxprocs=%d%s\n", name, r.n,
		ns/float64(r.n), float64(r.n)/(ns/1e9), maxRSSKiB(), runtime.GOMAXPROCS(0), r.fields)
}
