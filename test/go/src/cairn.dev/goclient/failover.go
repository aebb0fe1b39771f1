package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
)

// The parts of the failover run; each counts its completed operations for the progress lines.
var partNames = []string{"kv", "lease", "mutex", "election", "stm", "naming"}

type progress struct {
	counts  map[string]*int64
	mu      sync.Mutex
	atKill  map[string]int64
	stopped chan struct{}
}

func (p *progress) add(part string) { atomic.AddInt64(p.counts[part], 1) }

func (p *progress) snapshot() map[string]int64 {
	out := map[string]int64{}
	for name, c := range p.counts {
		out[name] = atomic.LoadInt64(c)
	}
	return out
}

// sinceKill: operations completed after the test said it killed the leader (-1: never told).
func (p *progress) sinceKill(part string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.atKill == nil {
		return -1
	}
	return atomic.LoadInt64(p.counts[part]) - p.atKill[part]
}

func (p *progress) isStopped() bool {
	select {
	case <-p.stopped:
		return true
	default:
		return false
	}
}

// failure keeps the first broken invariant a workload hit; the workload stops there.
type failure struct {
	mu  sync.Mutex
	err error
}

func (f *failure) set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *failure) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// workload: started before the kill, runs until stop, then verifies what it did.
type workload interface {
	run(p *progress)
	verify(p *progress) (fields, error)
}

func runFailover(r *reporter, endpoints []string, prefix, watchFirst string) error {
	p := &progress{counts: map[string]*int64{}, stopped: make(chan struct{})}
	for _, name := range partNames {
		p.counts[name] = new(int64)
	}
	builders := map[string]func() (workload, error){
		"kv":       func() (workload, error) { return newKVWatch(endpoints, prefix+"kv/", watchFirst) },
		"lease":    func() (workload, error) { return newLeaseKeeper(endpoints, prefix+"lease/") },
		"mutex":    func() (workload, error) { return newMutexWork(endpoints, prefix+"mutex/") },
		"election": func() (workload, error) { return newElectionWork(endpoints, prefix+"election/") },
		"stm":      func() (workload, error) { return newSTMWork(endpoints, prefix+"stm/") },
		"naming":   func() (workload, error) { return newNamingWork(endpoints, prefix+"naming/") },
	}
	works := map[string]workload{}
	for _, name := range partNames {
		w, err := builders[name]()
		if err != nil {
			return fmt.Errorf("setting up %s: %v", name, err)
		}
		works[name] = w
	}
	var wg sync.WaitGroup
	for _, name := range partNames {
		wg.Add(1)
		go func(w workload) {
			defer wg.Done()
			w.run(p)
		}(works[name])
	}
	r.print(fields{"ready": true})

	// The test signals instead of writing to stdin: SIGUSR1 "the leader was killed", SIGUSR2 "stop".
	// Typed lines "killed" and "stop" do the same by hand.
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(func() { close(p.stopped) }) }
	killed := func() {
		p.mu.Lock()
		p.atKill = p.snapshot()
		p.mu.Unlock()
		r.print(fields{"killedAt": p.snapshot()})
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		for s := range signals {
			if s == syscall.SIGUSR1 {
				killed()
			} else {
				stop()
			}
		}
	}()
	go func() {
		scanner := bufio.NewScanner(os.Stdin)
		for scanner.Scan() {
			switch strings.TrimSpace(scanner.Text()) {
			case "killed":
				killed()
			case "stop":
				stop()
			}
		}
	}()
	ticker := time.NewTicker(250 * time.Millisecond)
	defer ticker.Stop()
	for !p.isStopped() {
		select {
		case <-ticker.C:
			r.print(fields{"progress": p.snapshot()})
		case <-p.stopped:
		}
	}
	wg.Wait()
	for _, name := range partNames {
		w := works[name]
		r.check("failover."+name, func() (fields, error) {
			out, err := w.verify(p)
			if out == nil {
				out = fields{}
			}
			out["total"] = atomic.LoadInt64(p.counts[name])
			out["afterKill"] = p.sinceKill(name)
			if err == nil && p.sinceKill(name) < 1 {
				err = errorf("no %s operation completed after the leader was killed", name)
			}
			return out, err
		})
	}
	return nil
}

// --- kv: idempotent writes with retries, one watch WithPrevKV that must see each exactly once, in order ---

type ack struct {
	Key, Value, Prev string
	Rev              int64
}

type kvWatch struct {
	cli      *clientv3.Client
	p        string
	rt       *retrier
	fail     failure
	acks     []ack
	redone   int // writes an earlier, failed-looking attempt had already applied
	mu       sync.Mutex
	events   []seenEvent
	watchErr []string
	servedBy []string // members (hex IDs in the headers) that served the watch, in order
	pinned   bool
	cancel   context.CancelFunc
}

// newKVWatch: with watchFirst, the client starts with that member alone, opens its watch there, and then
// learns the others (Sync: MemberList, then SetEndpoints), as a client configured with one seed endpoint
// does. The watch stream stays on watchFirst until it dies, so killing it makes the watch fail over.
func newKVWatch(endpoints []string, p string, watchFirst string) (*kvWatch, error) {
	seeds := endpoints
	if watchFirst != "" {
		seeds = []string{watchFirst}
	}
	cli, err := newClient(seeds)
	if err != nil {
		return nil, err
	}
	w := &kvWatch{cli: cli, p: p, rt: newRetrier(), pinned: watchFirst != ""}
	ctx, cancel := ctx5()
	defer cancel()
	now, err := cli.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return nil, err
	}
	watchCtx, stopWatch := context.WithCancel(context.Background())
	w.cancel = stopWatch
	wch := cli.Watch(watchCtx, p, clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(now.Header.Revision+1),
		clientv3.WithCreatedNotify())
	created := <-wch
	if !created.Created {
		return nil, errorf("first watch response is not the created notice: %+v", created)
	}
	w.served(created.Header.MemberId)
	if watchFirst != "" {
		if err := cli.Sync(ctx); err != nil {
			return nil, err
		}
		if len(cli.Endpoints()) != len(endpoints) {
			return nil, errorf("Sync (MemberList) gave endpoints %v", cli.Endpoints())
		}
	}
	go func() {
		for resp := range wch {
			w.mu.Lock()
			w.servedLocked(resp.Header.MemberId)
			if err := resp.Err(); err != nil {
				w.watchErr = append(w.watchErr, err.Error())
			}
			for _, ev := range resp.Events {
				w.events = append(w.events, describeEvent(ev))
			}
			w.mu.Unlock()
		}
	}()
	return w, nil
}

func (w *kvWatch) served(member uint64) {
	w.mu.Lock()
	w.servedLocked(member)
	w.mu.Unlock()
}

func (w *kvWatch) servedLocked(member uint64) {
	id := fmt.Sprintf("%x", member)
	if len(w.servedBy) == 0 || w.servedBy[len(w.servedBy)-1] != id {
		w.servedBy = append(w.servedBy, id)
	}
}

func (w *kvWatch) run(p *progress) {
	last := map[string]string{}
	for i := 0; !p.isStopped(); i++ {
		key, val := fmt.Sprintf("%sk%02d", w.p, i%10), strconv.Itoa(i)
		prev := last[key]
		cmp := clientv3.Compare(clientv3.Value(key), "=", prev)
		if prev == "" {
			cmp = clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
		}
		var rev int64
		err := w.rt.do("put "+key, func(ctx context.Context) error {
			resp, err := w.cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(key, val)).Else(clientv3.OpGet(key)).Commit()
			if err != nil {
				return err
			}
			if resp.Succeeded {
				rev = resp.Header.Revision
				return nil
			}
			kvs := resp.Responses[0].GetResponseRange().Kvs
			if len(kvs) == 1 && string(kvs[0].Value) == val {
				rev = kvs[0].ModRevision
				w.redone++
				return nil
			}
			return fatal("%s holds %v, expected %q (acknowledged before) or %q (this write)", key, kvs, prev, val)
		})
		if err != nil {
			w.fail.set(err)
			return
		}
		w.acks = append(w.acks, ack{key, val, prev, rev})
		last[key] = val
		p.add("kv")
		time.Sleep(5 * time.Millisecond) // paced: the servers share the CPU with this client
	}
}

func (w *kvWatch) verify(*progress) (fields, error) {
	defer w.cli.Close()
	defer w.cancel()
	out := w.rt.summary()
	out["acked"] = len(w.acks)
	out["appliedByEarlierAttempt"] = w.redone
	if err := w.fail.get(); err != nil {
		return out, err
	}
	if len(w.acks) == 0 {
		return out, errorf("no write acknowledged")
	}
	lastRev := w.acks[len(w.acks)-1].Rev
	deadline := time.Now().Add(15 * time.Second)
	var events []seenEvent
	for {
		w.mu.Lock()
		events = append([]seenEvent(nil), w.events...)
		watchErr := append([]string(nil), w.watchErr...)
		w.mu.Unlock()
		out["watchErrors"] = watchErr
		if len(events) > 0 && events[len(events)-1].Rev >= lastRev {
			break
		}
		if time.Now().After(deadline) {
			return out, errorf("the watch got %d events, none at the last acknowledged revision %d", len(events), lastRev)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out["events"] = len(events)
	w.mu.Lock()
	out["watchServedBy"] = append([]string(nil), w.servedBy...)
	crossed := len(w.servedBy) >= 2
	w.mu.Unlock()
	if w.pinned && !crossed {
		return out, errorf("the watch never moved off the member it started on (served by %v)", out["watchServedBy"])
	}
	for i := 1; i < len(events); i++ {
		if events[i].Rev <= events[i-1].Rev {
			return out, errorf("watch event %d at revision %d after revision %d (repeated or out of order)", i, events[i].Rev, events[i-1].Rev)
		}
	}
	for i, a := range w.acks {
		if i >= len(events) {
			return out, errorf("acknowledged write %d (%s=%s at %d) never reached the watch", i, a.Key, a.Value, a.Rev)
		}
		want := seenEvent{"PUT", a.Key, a.Value, a.Rev, a.Prev}
		if events[i] != want {
			return out, errorf("watch event %d is %+v, the acknowledged write is %+v", i, events[i], want)
		}
	}
	if len(events) != len(w.acks) {
		return out, errorf("the watch saw %d events for %d acknowledged writes: %+v", len(events), len(w.acks), events[len(w.acks)])
	}
	// The final state holds every key's last acknowledged value.
	final := map[string]string{}
	for _, a := range w.acks {
		final[a.Key] = a.Value
	}
	var got *clientv3.GetResponse
	if err := w.rt.do("final get", func(ctx context.Context) (err error) {
		got, err = w.cli.Get(ctx, w.p, clientv3.WithPrefix())
		return err
	}); err != nil {
		return out, err
	}
	for _, kv := range got.Kvs {
		if final[string(kv.Key)] != string(kv.Value) {
			return out, errorf("%s is %q, its last acknowledged write is %q", kv.Key, kv.Value, final[string(kv.Key)])
		}
		delete(final, string(kv.Key))
	}
	if len(final) != 0 {
		return out, errorf("acknowledged keys missing: %v", final)
	}
	return out, nil
}

// --- lease: one lease kept alive by clientv3's KeepAlive; its key must never disappear ---

type leaseKeeper struct {
	cli       *clientv3.Client
	p         string
	id        clientv3.LeaseID
	ka        <-chan *clientv3.LeaseKeepAliveResponse
	cancel    context.CancelFunc
	rt        *retrier
	fail      failure
	lostAt    string
	keepAlive sync.WaitGroup
}

func newLeaseKeeper(endpoints []string, p string) (*leaseKeeper, error) {
	cli, err := newClient(endpoints)
	if err != nil {
		return nil, err
	}
	ctx, cancel := ctx5()
	defer cancel()
	grant, err := cli.Grant(ctx, 4)
	if err != nil {
		return nil, err
	}
	if _, err := cli.Put(ctx, p+"key", "held", clientv3.WithLease(grant.ID)); err != nil {
		return nil, err
	}
	kaCtx, stop := context.WithCancel(context.Background())
	ka, err := cli.KeepAlive(kaCtx, grant.ID)
	if err != nil {
		stop()
		return nil, err
	}
	return &leaseKeeper{cli: cli, p: p, id: grant.ID, ka: ka, cancel: stop, rt: newRetrier()}, nil
}

func (l *leaseKeeper) run(p *progress) {
	l.keepAlive.Add(1)
	go func() {
		defer l.keepAlive.Done()
		for resp := range l.ka {
			if resp.TTL <= 0 {
				l.fail.set(errorf("keep-alive answered TTL %d", resp.TTL))
			}
			p.add("lease")
		}
		if !p.isStopped() {
			l.fail.set(errorf("the keep-alive channel closed while running: the lease was lost"))
		}
	}()
	for !p.isStopped() {
		err := l.rt.do("get leased key", func(ctx context.Context) error {
			resp, err := l.cli.Get(ctx, l.p+"key")
			if err != nil {
				return err
			}
			if len(resp.Kvs) != 1 || clientv3.LeaseID(resp.Kvs[0].Lease) != l.id {
				return fatal("the leased key is gone (%v) at revision %d", resp.Kvs, resp.Header.Revision)
			}
			return nil
		})
		if err != nil {
			l.fail.set(err)
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (l *leaseKeeper) verify(*progress) (fields, error) {
	defer l.cli.Close()
	out := l.rt.summary()
	var ttl *clientv3.LeaseTimeToLiveResponse
	err := l.rt.do("time to live", func(ctx context.Context) (err error) {
		ttl, err = l.cli.TimeToLive(ctx, l.id, clientv3.WithAttachedKeys())
		return err
	})
	l.cancel()
	l.keepAlive.Wait()
	if err != nil {
		return out, err
	}
	out["ttl"] = ttl.TTL
	if err := l.fail.get(); err != nil {
		return out, err
	}
	if ttl.TTL <= 0 || len(ttl.Keys) != 1 {
		return out, errorf("after the run: TTL %d, %d attached keys", ttl.TTL, len(ttl.Keys))
	}
	return out, nil
}

// --- mutex: workers with their own clients and sessions increment a counter under concurrency.Mutex ---

type mutexWork struct {
	p        string
	sessions []*concurrency.Session
	closeAll func()
	rt       *retrier
	fail     failure
	holders  int32
	overlaps int32
	done     int64
}

const mutexWorkers = 3

func newMutexWork(endpoints []string, p string) (*mutexWork, error) {
	ss, closeAll, err := sessions(endpoints, mutexWorkers, 5)
	if err != nil {
		return nil, err
	}
	ctx, cancel := ctx5()
	defer cancel()
	if _, err := ss[0].Client().Put(ctx, p+"counter", "0|start"); err != nil {
		closeAll()
		return nil, err
	}
	return &mutexWork{p: p, sessions: ss, closeAll: closeAll, rt: newRetrier()}, nil
}

func (m *mutexWork) run(p *progress) {
	var wg sync.WaitGroup
	for i, s := range m.sessions {
		wg.Add(1)
		go func(worker int, s *concurrency.Session) {
			defer wg.Done()
			if err := m.worker(p, worker, s); err != nil {
				m.fail.set(err)
			}
		}(i, s)
	}
	wg.Wait()
}

func (m *mutexWork) worker(p *progress, worker int, s *concurrency.Session) error {
	cli := s.Client()
	mu := concurrency.NewMutex(s, m.p+"lock")
	counter := m.p + "counter"
	for iter := 0; !p.isStopped(); iter++ {
		if err := m.rt.doWithin("lock", 10*time.Second, mu.Lock); err != nil {
			return err
		}
		if atomic.AddInt32(&m.holders, 1) != 1 {
			atomic.AddInt32(&m.overlaps, 1)
		}
		var current string
		if err := m.rt.do("read counter", func(ctx context.Context) error {
			resp, err := cli.Get(ctx, counter)
			if err == nil {
				current = string(resp.Kvs[0].Value)
			}
			return err
		}); err != nil {
			return err
		}
		n, _ := strconv.Atoi(strings.SplitN(current, "|", 2)[0])
		mine := fmt.Sprintf("%d|w%d-%d", n+1, worker, iter)
		time.Sleep(10 * time.Millisecond) // a critical section long enough for the others to queue
		if err := m.rt.do("write counter", func(ctx context.Context) error {
			resp, err := cli.Txn(ctx).If(mu.IsOwner(), clientv3.Compare(clientv3.Value(counter), "=", current)).
				Then(clientv3.OpPut(counter, mine)).Else(clientv3.OpGet(counter)).Commit()
			if err != nil {
				return err
			}
			if resp.Succeeded {
				return nil
			}
			if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 && string(kvs[0].Value) == mine {
				return nil
			}
			return fatal("holding the lock, worker %d read the counter %q and could not write %q: exclusion broken or lock lost (%v)",
				worker, current, mine, resp.Responses[0].GetResponseRange().Kvs)
		}); err != nil {
			return err
		}
		atomic.AddInt32(&m.holders, -1)
		if err := m.rt.do("unlock", mu.Unlock); err != nil {
			return err
		}
		atomic.AddInt64(&m.done, 1)
		p.add("mutex")
	}
	return nil
}

func (m *mutexWork) verify(*progress) (fields, error) {
	defer m.closeAll()
	out := m.rt.summary()
	out["overlaps"] = atomic.LoadInt32(&m.overlaps)
	if err := m.fail.get(); err != nil {
		return out, err
	}
	var value string
	if err := m.rt.do("final counter", func(ctx context.Context) error {
		resp, err := m.sessions[0].Client().Get(ctx, m.p+"counter")
		if err == nil {
			value = string(resp.Kvs[0].Value)
		}
		return err
	}); err != nil {
		return out, err
	}
	n, _ := strconv.Atoi(strings.SplitN(value, "|", 2)[0])
	out["counter"] = n
	if m.overlaps != 0 || int64(n) != atomic.LoadInt64(&m.done) {
		return out, errorf("%d critical sections overlapped; counter %d after %d locked increments", m.overlaps, n, m.done)
	}
	return out, nil
}

// --- election: candidates take turns leading (campaign, proclaim, resign); an observer follows ---

type electionWork struct {
	p         string
	sessions  []*concurrency.Session
	closeAll  func()
	rt        *retrier
	fail      failure
	leaders   int32
	overlaps  int32
	mu        sync.Mutex
	announced []string
	observed  []string
	reopened  int
	cancel    context.CancelFunc
	observing sync.WaitGroup
}

func newElectionWork(endpoints []string, p string) (*electionWork, error) {
	ss, closeAll, err := sessions(endpoints, 3, 5) // two candidates and an observer
	if err != nil {
		return nil, err
	}
	return &electionWork{p: p, sessions: ss, closeAll: closeAll, rt: newRetrier()}, nil
}

func (e *electionWork) run(p *progress) {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.observing.Add(1)
	go e.observe(ctx, p)
	var wg sync.WaitGroup
	for c := 0; c < 2; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			if err := e.candidate(p, c); err != nil {
				e.fail.set(err)
			}
		}(c)
	}
	wg.Wait()
}

// observe re-opens Observe when it ends, as an application must: clientv3 closes the channel on an error.
func (e *electionWork) observe(ctx context.Context, p *progress) {
	defer e.observing.Done()
	watcher := concurrency.NewElection(e.sessions[2], e.p+"leader")
	for ctx.Err() == nil {
		for resp := range watcher.Observe(ctx) {
			e.mu.Lock()
			e.observed = append(e.observed, string(resp.Kvs[0].Value))
			e.mu.Unlock()
		}
		e.mu.Lock()
		e.reopened++
		e.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *electionWork) announce(v string) {
	e.mu.Lock()
	e.announced = append(e.announced, v)
	e.mu.Unlock()
}

func (e *electionWork) candidate(p *progress, c int) error {
	el := concurrency.NewElection(e.sessions[c], e.p+"leader")
	for term := 0; !p.isStopped(); term++ {
		val := fmt.Sprintf("c%d-t%d", c, term)
		if err := e.rt.doWithin("campaign", 10*time.Second, func(ctx context.Context) error { return el.Campaign(ctx, val) }); err != nil {
			return err
		}
		if atomic.AddInt32(&e.leaders, 1) != 1 {
			atomic.AddInt32(&e.overlaps, 1)
		}
		e.announce(val)
		time.Sleep(30 * time.Millisecond)
		proclaimed := val + "-p"
		if err := e.rt.do("proclaim", func(ctx context.Context) error {
			if err := el.Proclaim(ctx, proclaimed); err == concurrency.ErrElectionNotLeader {
				return fatal("elected candidate %d is no longer leader", c)
			} else if err != nil {
				return err
			}
			return nil
		}); err != nil {
			return err
		}
		e.announce(proclaimed)
		if err := e.rt.do("leader", func(ctx context.Context) error {
			resp, err := el.Leader(ctx)
			if err != nil {
				return err
			}
			if string(resp.Kvs[0].Value) != proclaimed {
				return fatal("Leader says %q while candidate %d leads with %q", resp.Kvs[0].Value, c, proclaimed)
			}
			return nil
		}); err != nil {
			return err
		}
		atomic.AddInt32(&e.leaders, -1)
		key, rev := el.Key(), el.Rev()
		// Resign forgets leadership even when its call fails; retry the delete it does until it is known done.
		if err := e.rt.do("resign", func(ctx context.Context) error {
			_, err := e.sessions[c].Client().Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", rev)).
				Then(clientv3.OpDelete(key)).Commit()
			return err
		}); err != nil {
			return err
		}
		_ = el.Resign(context.Background())
		p.add("election")
	}
	return nil
}

func (e *electionWork) verify(p *progress) (fields, error) {
	defer e.closeAll()
	time.Sleep(300 * time.Millisecond) // let the observer catch the last resignation's successor
	e.cancel()
	e.observing.Wait()
	out := e.rt.summary()
	e.mu.Lock()
	observed, announced := append([]string(nil), e.observed...), append([]string(nil), e.announced...)
	out["observeReopened"] = e.reopened
	e.mu.Unlock()
	var collapsed []string
	for _, v := range observed {
		if len(collapsed) == 0 || collapsed[len(collapsed)-1] != v {
			collapsed = append(collapsed, v)
		}
	}
	out["overlaps"] = atomic.LoadInt32(&e.overlaps)
	out["observed"] = len(collapsed)
	out["announced"] = len(announced)
	if err := e.fail.get(); err != nil {
		return out, err
	}
	if e.overlaps != 0 {
		return out, errorf("two candidates led at once %d times", e.overlaps)
	}
	// What Observe reported is a subsequence of what the leaders announced, in their order.
	j := 0
	for _, v := range collapsed {
		for j < len(announced) && announced[j] != v {
			j++
		}
		if j == len(announced) {
			return out, errorf("Observe reported %q out of order or never announced (observed %v, announced %v)", v, collapsed, announced)
		}
	}
	if len(collapsed) < 2 {
		return out, errorf("Observe reported only %v", collapsed)
	}
	return out, nil
}

// --- stm: transfers between accounts in concurrency.STM transactions; the sum never changes ---

const (
	stmAccounts = 5
	stmInitial  = 100
	stmWorkers  = 3
)

type stmWork struct {
	cli      *clientv3.Client
	p        string
	rt       *retrier
	fail     failure
	acked    int64
	snapshot int64
}

func newSTMWork(endpoints []string, p string) (*stmWork, error) {
	cli, err := newClient(endpoints)
	if err != nil {
		return nil, err
	}
	ctx, cancel := ctx5()
	defer cancel()
	for i := 0; i < stmAccounts; i++ {
		if _, err := cli.Put(ctx, fmt.Sprintf("%sacct/%d", p, i), strconv.Itoa(stmInitial)); err != nil {
			return nil, err
		}
	}
	return &stmWork{cli: cli, p: p, rt: newRetrier()}, nil
}

func (s *stmWork) run(p *progress) {
	var wg sync.WaitGroup
	for w := 0; w < stmWorkers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			if err := s.worker(p, w); err != nil {
				s.fail.set(err)
			}
		}(w)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !p.isStopped() {
			if err := s.checkSum(); err != nil {
				s.fail.set(err)
				return
			}
			atomic.AddInt64(&s.snapshot, 1)
			time.Sleep(200 * time.Millisecond)
		}
	}()
	wg.Wait()
}

// worker: each transfer has an id logged in the same transaction, so retrying one whose outcome is
// unknown never applies it twice.
func (s *stmWork) worker(p *progress, w int) error {
	rng := rand.New(rand.NewSource(int64(100 + w)))
	for k := 0; !p.isStopped(); k++ {
		id := fmt.Sprintf("%slog/w%d-%05d", s.p, w, k)
		from, to, amount := rng.Intn(stmAccounts), rng.Intn(stmAccounts), 1+rng.Intn(40)
		err := s.rt.do("transfer", func(ctx context.Context) error {
			_, err := concurrency.NewSTM(s.cli, func(stm concurrency.STM) error {
				if stm.Get(id) != "" {
					return nil
				}
				fk, tk := fmt.Sprintf("%sacct/%d", s.p, from), fmt.Sprintf("%sacct/%d", s.p, to)
				fb, _ := strconv.Atoi(stm.Get(fk))
				tb, _ := strconv.Atoi(stm.Get(tk))
				moved := amount
				if from == to || fb < amount {
					moved = 0
				} else {
					stm.Put(fk, strconv.Itoa(fb-moved))
					stm.Put(tk, strconv.Itoa(tb+moved))
				}
				stm.Put(id, fmt.Sprintf("%d,%d,%d", from, to, moved))
				return nil
			}, concurrency.WithAbortContext(ctx))
			return err
		})
		if err != nil {
			return err
		}
		atomic.AddInt64(&s.acked, 1)
		p.add("stm")
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// checkSum reads every account at one revision: the total is always the initial total.
func (s *stmWork) checkSum() error {
	return s.rt.do("sum", func(ctx context.Context) error {
		resp, err := s.cli.Get(ctx, s.p+"acct/", clientv3.WithPrefix())
		if err != nil {
			return err
		}
		sum := 0
		for _, kv := range resp.Kvs {
			b, _ := strconv.Atoi(string(kv.Value))
			sum += b
		}
		if sum != stmAccounts*stmInitial || len(resp.Kvs) != stmAccounts {
			return fatal("at revision %d the %d accounts sum to %d, want %d", resp.Header.Revision, len(resp.Kvs), sum, stmAccounts*stmInitial)
		}
		return nil
	})
}

func (s *stmWork) verify(*progress) (fields, error) {
	defer s.cli.Close()
	out := s.rt.summary()
	out["sumChecks"] = atomic.LoadInt64(&s.snapshot)
	if err := s.fail.get(); err != nil {
		return out, err
	}
	var resp *clientv3.GetResponse
	if err := s.rt.do("final read", func(ctx context.Context) (err error) {
		resp, err = s.cli.Get(ctx, s.p, clientv3.WithPrefix())
		return err
	}); err != nil {
		return out, err
	}
	balances, expected, logged := map[string]int{}, map[string]int{}, 0
	for i := 0; i < stmAccounts; i++ {
		expected[fmt.Sprintf("%sacct/%d", s.p, i)] = stmInitial
	}
	for _, kv := range resp.Kvs {
		key := string(kv.Key)
		if strings.HasPrefix(key, s.p+"acct/") {
			balances[key], _ = strconv.Atoi(string(kv.Value))
			continue
		}
		logged++
		var from, to, moved int
		if _, err := fmt.Sscanf(string(kv.Value), "%d,%d,%d", &from, &to, &moved); err != nil {
			return out, errorf("log entry %s=%q: %v", key, kv.Value, err)
		}
		expected[fmt.Sprintf("%sacct/%d", s.p, from)] -= moved
		expected[fmt.Sprintf("%sacct/%d", s.p, to)] += moved
	}
	out["logged"] = logged
	if int64(logged) != s.acked || fmt.Sprint(balances) != fmt.Sprint(expected) {
		return out, errorf("%d transfers logged for %d acknowledged; balances %v, the log says %v", logged, s.acked, balances, expected)
	}
	return out, nil
}

// --- naming: a connection resolved through etcd keeps calling; instances join and leave during the run ---

type namingWork struct {
	cli       *clientv3.Client
	reg       *registry
	instances []*instance
	conn      interface{ Close() error }
	calls     *callCounter
	rt        *retrier
	fail      failure
	changedAt int // calls made when the new instance was first seen and the removed one last seen
}

func newNamingWork(endpoints []string, p string) (*namingWork, error) {
	cli, err := newClient(endpoints)
	if err != nil {
		return nil, err
	}
	target := p + "echo"
	reg, err := newRegistry(cli, target)
	if err != nil {
		return nil, err
	}
	n := &namingWork{cli: cli, reg: reg, calls: newCallCounter(), rt: newRetrier()}
	ctx, cancel := ctx5()
	defer cancel()
	for i := 0; i < 4; i++ {
		in, err := startInstance()
		if err != nil {
			return nil, err
		}
		n.instances = append(n.instances, in)
		if i < 3 { // the fourth joins after the leader is killed
			if err := reg.register(ctx, in.addr); err != nil {
				return nil, err
			}
		}
	}
	return n, nil
}

func (n *namingWork) run(p *progress) {
	conn, err := dialResolved(n.cli, n.reg.target)
	if err != nil {
		n.fail.set(err)
		return
	}
	n.conn = conn
	joined, removed := n.instances[3].addr, n.instances[0].addr
	changing := false
	for !p.isStopped() {
		addr, err := callOnce(conn, time.Second)
		n.calls.record(addr, err)
		if !changing && p.sinceKill("naming") >= 0 {
			// The leader is dead: one instance joins and another leaves while the cluster elects.
			changing = true
			go func() {
				err := n.rt.do("register", func(ctx context.Context) error { return n.reg.register(ctx, joined) })
				if err == nil {
					err = n.rt.do("deregister", func(ctx context.Context) error { return n.reg.deregister(ctx, removed) })
				}
				if err != nil {
					n.fail.set(err)
				}
			}()
		}
		// Progress counts calls once the joined instance answers and the removed one stopped answering.
		n.calls.mu.Lock()
		settled := n.calls.by[joined] > 0 && n.calls.calls-n.calls.last[removed] > 30
		if settled && n.changedAt == 0 {
			n.changedAt = n.calls.calls
		}
		n.calls.mu.Unlock()
		if settled {
			p.add("naming")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *namingWork) verify(*progress) (fields, error) {
	defer func() {
		if n.conn != nil {
			n.conn.Close()
		}
		n.reg.close()
		for _, in := range n.instances {
			in.server.Stop()
		}
		n.cli.Close()
	}()
	out := n.rt.summary()
	n.calls.mu.Lock()
	defer n.calls.mu.Unlock()
	by := map[string]int{}
	for i, in := range n.instances {
		by[fmt.Sprintf("instance%d", i)] = n.calls.by[in.addr]
	}
	out["calls"], out["by"], out["failedCalls"] = n.calls.calls, by, n.calls.failures
	if err := n.fail.get(); err != nil {
		return out, err
	}
	if len(n.calls.failures) > 0 {
		return out, errorf("calls through the resolved connection failed: %v", n.calls.failures)
	}
	if n.changedAt == 0 {
		return out, errorf("the joined instance never answered, or the removed one kept answering")
	}
	for i := 1; i <= 2; i++ {
		if n.calls.last[n.instances[i].addr] <= n.changedAt {
			return out, errorf("instance%d stopped answering", i)
		}
	}
	return out, nil
}
