package main

import (
	"context"
	"net"
	"sort"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/naming/endpoints"
	"go.etcd.io/etcd/clientv3/naming/resolver"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
)

// instance is a tiny gRPC service (the standard health service) on a loopback port.
type instance struct {
	addr   string
	server *grpc.Server
}

func startInstance() (*instance, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	server := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(server, hs)
	go func() { _ = server.Serve(lis) }()
	return &instance{addr: lis.Addr().String(), server: server}, nil
}

// registry registers instances the way services do with etcd: one key per instance under the target,
// bound to a lease the instance keeps alive, written through clientv3/naming/endpoints.
type registry struct {
	cli    *clientv3.Client
	target string
	em     endpoints.Manager
	leases map[string]clientv3.LeaseID
	stop   map[string]context.CancelFunc
}

func newRegistry(cli *clientv3.Client, target string) (*registry, error) {
	em, err := endpoints.NewManager(cli, target)
	if err != nil {
		return nil, err
	}
	return &registry{cli: cli, target: target, em: em, leases: map[string]clientv3.LeaseID{}, stop: map[string]context.CancelFunc{}}, nil
}

func (g *registry) register(ctx context.Context, addr string) error {
	lease, ok := g.leases[addr]
	if !ok {
		grant, err := g.cli.Grant(ctx, 10)
		if err != nil {
			return err
		}
		lease = grant.ID
		g.leases[addr] = lease
		kaCtx, cancel := context.WithCancel(context.Background())
		if _, err := g.cli.KeepAlive(kaCtx, lease); err != nil {
			cancel()
			return err
		}
		g.stop[addr] = cancel
	}
	return g.em.AddEndpoint(ctx, g.target+"/"+addr, endpoints.Endpoint{Addr: addr}, clientv3.WithLease(lease))
}

func (g *registry) deregister(ctx context.Context, addr string) error {
	return g.em.DeleteEndpoint(ctx, g.target+"/"+addr)
}

// expire stops the instance's keep-alive and revokes its lease, as when the instance's process dies.
func (g *registry) expire(ctx context.Context, addr string) error {
	if cancel, ok := g.stop[addr]; ok {
		cancel()
	}
	_, err := g.cli.Revoke(ctx, g.leases[addr])
	return err
}

func (g *registry) close() {
	for _, cancel := range g.stop {
		cancel()
	}
}

// dialResolved dials "etcd:///<target>" through clientv3's gRPC resolver, round robin over the instances.
func dialResolved(cli *clientv3.Client, target string) (*grpc.ClientConn, error) {
	builder, err := resolver.NewBuilder(cli)
	if err != nil {
		return nil, err
	}
	return grpc.Dial("etcd:///"+target, grpc.WithInsecure(), grpc.WithResolvers(builder),
		grpc.WithDefaultServiceConfig(`{"loadBalancingPolicy":"round_robin"}`))
}

// callOnce makes one health call and says which instance answered.
func callOnce(conn *grpc.ClientConn, timeout time.Duration) (string, error) {
	ctx, cancel := ctxTimeout(timeout)
	defer cancel()
	var p peer.Peer
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p), grpc.WaitForReady(true))
	if err != nil {
		return "", err
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		return "", errorf("health status %v", resp.Status)
	}
	return p.Addr.String(), nil
}

// servedBy calls until the set of instances answering the last `window` calls is exactly want.
func servedBy(conn *grpc.ClientConn, want []string, window int, within time.Duration) ([]string, error) {
	wanted := append([]string(nil), want...)
	sort.Strings(wanted)
	var recent []string
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		addr, err := callOnce(conn, time.Second)
		if err != nil {
			return nil, err
		}
		recent = append(recent, addr)
		if len(recent) > window {
			recent = recent[1:]
		}
		if len(recent) == window && sameStrings(distinct(recent), wanted) {
			return wanted, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil, errorf("calls were still answered by %v, want exactly %v", distinct(recent), wanted)
}

func distinct(addrs []string) []string {
	set := map[string]bool{}
	for _, a := range addrs {
		set[a] = true
	}
	out := []string{}
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func checkNaming(cli *clientv3.Client, p string) (fields, error) {
	target := p + "echo"
	var instances []*instance
	defer func() {
		for _, in := range instances {
			in.server.Stop()
		}
	}()
	for i := 0; i < 3; i++ {
		in, err := startInstance()
		if err != nil {
			return nil, err
		}
		instances = append(instances, in)
	}
	addrs := []string{instances[0].addr, instances[1].addr, instances[2].addr}
	reg, err := newRegistry(cli, target)
	if err != nil {
		return nil, err
	}
	defer reg.close()
	ctx, cancel := ctxTimeout(20 * time.Second)
	defer cancel()
	for _, a := range addrs {
		if err := reg.register(ctx, a); err != nil {
			return nil, err
		}
	}
	// List reads serializably (from whichever member the client picked): it may lag, never invent.
	var listed endpoints.Key2EndpointMap
	for len(listed) < 3 {
		if listed, err = reg.em.List(ctx); err != nil {
			return nil, err
		}
		for key, ep := range listed {
			if key != target+"/"+ep.Addr || (ep.Addr != addrs[0] && ep.Addr != addrs[1] && ep.Addr != addrs[2]) {
				return nil, errorf("endpoints List: %v", listed)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn, err := dialResolved(cli, target)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := servedBy(conn, addrs, 30, 10*time.Second); err != nil {
		return nil, errorf("all three registered: %v", err)
	}
	// Deregistered: the instance still runs, only the resolver can take it out of rotation.
	if err := reg.deregister(ctx, addrs[0]); err != nil {
		return nil, err
	}
	if _, err := servedBy(conn, addrs[1:], 30, 10*time.Second); err != nil {
		return nil, errorf("after deregistering %s: %v", addrs[0], err)
	}
	// The lease of an instance that died: its key goes with the lease.
	if err := reg.expire(ctx, addrs[1]); err != nil {
		return nil, err
	}
	if _, err := servedBy(conn, addrs[2:], 20, 10*time.Second); err != nil {
		return nil, errorf("after the lease of %s was revoked: %v", addrs[1], err)
	}
	// Registered again: back in rotation.
	if err := reg.register(ctx, addrs[0]); err != nil {
		return nil, err
	}
	if _, err := servedBy(conn, []string{addrs[0], addrs[2]}, 20, 10*time.Second); err != nil {
		return nil, errorf("after registering %s again: %v", addrs[0], err)
	}
	return fields{"instances": 3}, nil
}

// callCounter keeps calling through a resolved connection and counts who answered, for the failover run.
type callCounter struct {
	mu       sync.Mutex
	calls    int
	failures []string
	by       map[string]int
	last     map[string]int // index of the last call each instance answered
}

func newCallCounter() *callCounter {
	return &callCounter{by: map[string]int{}, last: map[string]int{}}
}

func (c *callCounter) record(addr string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if err != nil {
		if len(c.failures) < 5 {
			c.failures = append(c.failures, err.Error())
		}
		return
	}
	c.by[addr]++
	c.last[addr] = c.calls
}
