// Command goclient drives etcd's own Go client (clientv3 3.4, its concurrency package and its gRPC naming
// resolver) against a cluster, unchanged, and prints one JSON line per check on stdout. It exits 1 when any
// check fails. test/compat/go-client.test.ts runs it against Cairn and against real etcd.
//
//	goclient -endpoints URL,URL,URL -prefix P basics    precise semantics, one check after another
//	goclient -endpoints URL,URL,URL -prefix P failover  workloads that run until stdin says "stop"
//
// failover takes SIGUSR1 (or the line "killed" on stdin): the test killed the leader, operations are counted
// from there on; and SIGUSR2 (or "stop"): finish the current operations, verify, report. It prints
// {"progress":{...}} lines meanwhile.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.uber.org/zap"
	"google.golang.org/grpc/grpclog"
)

// fields are the machine-checkable figures a check reports next to its verdict.
type fields map[string]interface{}

// reporter prints JSON lines; safe for concurrent use.
type reporter struct {
	mu     sync.Mutex
	enc    *json.Encoder
	failed bool
}

func newReporter() *reporter { return &reporter{enc: json.NewEncoder(os.Stdout)} }

func (r *reporter) print(line interface{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.enc.Encode(line)
}

// check runs one named check and prints {"check":name,"ok":bool,...figures,"error":...}.
func (r *reporter) check(name string, run func() (fields, error)) {
	start := time.Now()
	out, err := func() (out fields, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return run()
	}()
	line := fields{}
	for k, v := range out {
		line[k] = v
	}
	line["check"] = name
	line["ok"] = err == nil
	line["ms"] = time.Since(start).Milliseconds()
	if err != nil {
		line["error"] = err.Error()
		r.mu.Lock()
		r.failed = true
		r.mu.Unlock()
	}
	r.print(line)
}

// newClient is how an application configures clientv3: every member, a dial timeout, quiet logs.
func newClient(endpoints []string) (*clientv3.Client, error) {
	logConfig := zap.NewProductionConfig()
	logConfig.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	return clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          3 * time.Second,
		DialKeepAliveTime:    2 * time.Second,
		DialKeepAliveTimeout: 2 * time.Second,
		LogConfig:            &logConfig,
	})
}

func main() {
	endpointList := flag.String("endpoints", "", "comma-separated client URLs")
	prefix := flag.String("prefix", "goclient/", "key prefix of this run")
	pin := flag.String("watch-first", "", "failover: the kv watch starts on this member (the leader the test kills)")
	flag.Parse()
	if *endpointList == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: goclient -endpoints URL[,URL...] [-prefix P] basics|failover")
		os.Exit(2)
	}
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(ioutil.Discard, ioutil.Discard, os.Stderr))
	endpoints := strings.Split(*endpointList, ",")
	r := newReporter()
	var err error
	switch flag.Arg(0) {
	case "basics":
		err = runBasics(r, endpoints, *prefix)
	case "failover":
		err = runFailover(r, endpoints, *prefix, *pin)
	default:
		err = fmt.Errorf("unknown mode %q", flag.Arg(0))
	}
	if err != nil {
		r.print(fields{"fatal": err.Error()})
		os.Exit(1)
	}
	if r.failed {
		os.Exit(1)
	}
}

// ctxTimeout is a per-call deadline, as applications put on every etcd call.
func ctxTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func errorf(format string, args ...interface{}) error { return fmt.Errorf(format, args...) }
