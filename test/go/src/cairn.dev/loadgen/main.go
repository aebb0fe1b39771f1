// Command loadgen is a closed-loop load generator on etcd's own Go client (clientv3 3.4): -inflight
// goroutines each send a request, wait for the answer and send the next, over -conns clientv3 clients. It is
// the instrument `bench go-load` (apps/bench) drives against Cairn and real etcd side by side; the Go client
// costs the shared 2-core machine far less CPU than a Node client, so the server gets more of it.
//
//	loadgen -endpoints 127.0.0.1:2379 -workload put|range-l|range-s -inflight 64 -duration 5s -warmup 1s
//
// stdout carries JSON lines: {"event":"measure-start"} when the measured window opens (after -warmup),
// {"event":"measure-end"} when it closes (so the caller can sample server CPU over exactly that window),
// then one {"result":{...}}. Exit 1 on a setup failure ({"fatal":...}), 2 on a usage mistake.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.uber.org/zap"
	"google.golang.org/grpc/grpclog"
)

// Phases of a run; workers read it after every request to decide whether that request counts.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseDone
)

// result is the one JSON object printed at the end. Latencies in ms, CPU in ms of user+system time.
type result struct {
	Workload      string             `json:"workload"`
	Inflight      int                `json:"inflight"`
	Conns         int                `json:"conns"`
	Ops           int64              `json:"ops"`
	Errors        int64              `json:"errors"`
	ErrorMessages map[string]int64   `json:"errorMessages"`
	ElapsedMs     float64            `json:"elapsedMs"`
	OpsPerSec     float64            `json:"opsPerSec"`
	Latency       map[string]float64 `json:"latencyMs"`
	ClientCPUMs   float64            `json:"clientCpuMs"`
}

// worker holds one goroutine's tallies, merged after the run (no locks on the hot path).
type worker struct {
	latencies []time.Duration
	errors    map[string]int64
	errCount  int64
}

func newClient(endpoints []string) (*clientv3.Client, error) {
	logConfig := zap.NewProductionConfig()
	logConfig.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	return clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		LogConfig:   &logConfig,
	})
}

// cpuMs is this process's user+system CPU time so far.
func cpuMs() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	toMs := func(t syscall.Timeval) float64 { return float64(t.Sec)*1000 + float64(t.Usec)/1000 }
	return toMs(usage.Utime) + toMs(usage.Stime)
}

// key writes index as zero-padded decimal of size bytes, as apps/bench's Node generator does.
func key(index, size int) string {
	return fmt.Sprintf("%0*d", size, index)
}

// percentile is nearest-rank on sorted latencies, in ms.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(sorted) {
		rank = len(sorted) - 1
	}
	return float64(sorted[rank]) / float64(time.Millisecond)
}

var stdout = json.NewEncoder(os.Stdout)

func fatal(format string, args ...interface{}) {
	_ = stdout.Encode(map[string]string{"fatal": fmt.Sprintf(format, args...)})
	os.Exit(1)
}

func main() {
	endpointList := flag.String("endpoints", "127.0.0.1:2379", "comma-separated endpoints (host:port or URL)")
	workload := flag.String("workload", "put", "put | range-l (linearizable get) | range-s (serializable get)")
	inflight := flag.Int("inflight", 64, "requests in flight at once (goroutines in the closed loop)")
	conns := flag.Int("conns", 1, "clientv3 clients (one gRPC connection each); goroutine i uses client i mod conns")
	duration := flag.Duration("duration", 5*time.Second, "length of the measured window")
	warmup := flag.Duration("warmup", time.Second, "unmeasured load before the window")
	keySize := flag.Int("key-size", 16, "put key size in bytes (zero-padded decimal)")
	keySpace := flag.Int("key-space", 100000, "distinct put keys, drawn at random")
	valSize := flag.Int("val-size", 256, "value size in bytes")
	rangeKey := flag.String("range-key", "bench-range-key", "the key range workloads read (written first)")
	flag.Parse()
	if flag.NArg() != 0 || *inflight < 1 || *conns < 1 || *duration <= 0 || *keySpace < 1 ||
		len(fmt.Sprint(*keySpace-1)) > *keySize {
		fmt.Fprintln(os.Stderr, "usage: loadgen -endpoints E -workload put|range-l|range-s -inflight N -duration D"+
			" (key-size must hold key-space-1 in decimal)")
		os.Exit(2)
	}
	var opts []clientv3.OpOption
	switch *workload {
	case "put", "range-l":
	case "range-s":
		opts = append(opts, clientv3.WithSerializable())
	default:
		fmt.Fprintf(os.Stderr, "unknown workload %q\n", *workload)
		os.Exit(2)
	}
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(ioutil.Discard, ioutil.Discard, os.Stderr))
	endpoints := strings.Split(*endpointList, ",")

	clients := make([]*clientv3.Client, *conns)
	for i := range clients {
		c, err := newClient(endpoints)
		if err != nil {
			fatal("connect: %v", err)
		}
		defer c.Close()
		clients[i] = c
	}
	value := make([]byte, *valSize)
	rand.Read(value)
	// Ranges read one existing key; writing it also proves the endpoints answer before the clock starts.
	setup, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if *workload != "put" {
		_, err := clients[0].Put(setup, *rangeKey, string(value))
		if err != nil {
			fatal("writing %s: %v", *rangeKey, err)
		}
	} else if _, err := clients[0].Get(setup, *rangeKey, clientv3.WithSerializable()); err != nil {
		fatal("first request: %v", err)
	}
	cancel()

	var phase int32 = phaseWarmup
	workers := make([]*worker, *inflight)
	var wg sync.WaitGroup
	for i := 0; i < *inflight; i++ {
		w := &worker{errors: map[string]int64{}}
		workers[i] = w
		kv := clients[i%*conns].KV
		random := rand.New(rand.NewSource(time.Now().UnixNano() + int64(i)))
		val := string(value)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for {
				start := time.Now()
				var err error
				if *workload == "put" {
					_, err = kv.Put(ctx, key(random.Intn(*keySpace), *keySize), val)
				} else {
					_, err = kv.Get(ctx, *rangeKey, opts...)
				}
				switch atomic.LoadInt32(&phase) {
				case phaseMeasure:
					if err != nil {
						w.errCount++
						if len(w.errors) < 20 {
							w.errors[err.Error()]++
						}
					} else {
						w.latencies = append(w.latencies, time.Since(start))
					}
				case phaseDone:
					return
				}
			}
		}()
	}

	time.Sleep(*warmup)
	cpuStart := cpuMs()
	windowStart := time.Now()
	atomic.StoreInt32(&phase, phaseMeasure)
	_ = stdout.Encode(map[string]string{"event": "measure-start"})
	time.Sleep(*duration)
	atomic.StoreInt32(&phase, phaseDone)
	elapsed := time.Since(windowStart)
	cpuEnd := cpuMs()
	_ = stdout.Encode(map[string]string{"event": "measure-end"})
	wg.Wait()

	var all []time.Duration
	res := result{
		Workload: *workload, Inflight: *inflight, Conns: *conns, ErrorMessages: map[string]int64{},
		ElapsedMs: float64(elapsed) / float64(time.Millisecond), ClientCPUMs: cpuEnd - cpuStart,
	}
	for _, w := range workers {
		all = append(all, w.latencies...)
		res.Errors += w.errCount
		for message, count := range w.errors {
			res.ErrorMessages[message] += count
		}
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	res.Ops = int64(len(all))
	res.OpsPerSec = float64(res.Ops) / elapsed.Seconds()
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	mean := 0.0
	if len(all) > 0 {
		mean = float64(sum) / float64(len(all)) / float64(time.Millisecond)
	}
	res.Latency = map[string]float64{
		"p50": percentile(all, 50), "p90": percentile(all, 90), "p99": percentile(all, 99),
		"max": percentile(all, 100), "mean": mean,
	}
	_ = stdout.Encode(map[string]interface{}{"result": res})
}
