package main

import (
	"context"
	"fmt"
	"math/rand"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
	"go.etcd.io/etcd/etcdserver/api/v3rpc/rpctypes"
	"go.etcd.io/etcd/mvcc/mvccpb"
)

// runBasics checks clientv3's answers one feature at a time on a quiet cluster. Revisions are only compared
// with each other (a put's header revision is its key's mod_revision), never with absolute numbers.
func runBasics(r *reporter, endpoints []string, prefix string) error {
	cli, err := newClient(endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	r.check("kv", func() (fields, error) { return checkKV(cli, prefix+"kv/") })
	r.check("txn", func() (fields, error) { return checkTxn(cli, prefix+"txn/") })
	r.check("watch.rev-prevkv", func() (fields, error) { return checkWatchHistory(cli, prefix+"watch/") })
	r.check("watch.progress-notify", func() (fields, error) { return checkProgressNotify(cli, prefix+"progress/") })
	r.check("lease", func() (fields, error) { return checkLease(cli, prefix+"lease/") })
	r.check("concurrency.mutex", func() (fields, error) { return checkMutex(endpoints, prefix+"mutex/") })
	r.check("concurrency.election", func() (fields, error) { return checkElection(endpoints, prefix+"election/") })
	r.check("concurrency.stm", func() (fields, error) { return checkSTM(endpoints, prefix+"stm/") })
	r.check("naming.resolver", func() (fields, error) { return checkNaming(cli, prefix+"naming/") })
	return nil
}

func ctx5() (context.Context, context.CancelFunc) { return ctxTimeout(5 * time.Second) }

func keysOf(kvs []*mvccpb.KeyValue) []string {
	out := []string{}
	for _, kv := range kvs {
		out = append(out, string(kv.Key))
	}
	return out
}

func sameStrings(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func checkKV(cli *clientv3.Client, p string) (fields, error) {
	ctx, cancel := ctx5()
	defer cancel()
	put, err := cli.Put(ctx, p+"a", "1")
	if err != nil {
		return nil, err
	}
	rA := put.Header.Revision
	get, err := cli.Get(ctx, p+"a")
	if err != nil {
		return nil, err
	}
	kv := get.Kvs[0]
	if string(kv.Value) != "1" || kv.ModRevision != rA || kv.CreateRevision != rA || kv.Version != 1 || get.Header.Revision != rA {
		return nil, errorf("get after put: %v (put revision %d, header %d)", kv, rA, get.Header.Revision)
	}
	put2, err := cli.Put(ctx, p+"a", "2", clientv3.WithPrevKV())
	if err != nil {
		return nil, err
	}
	if put2.PrevKv == nil || string(put2.PrevKv.Value) != "1" || put2.Header.Revision != rA+1 {
		return nil, errorf("put WithPrevKV: prev %v, revision %d after %d", put2.PrevKv, put2.Header.Revision, rA)
	}
	for _, k := range []string{"b", "c"} {
		if _, err := cli.Put(ctx, p+k, k); err != nil {
			return nil, err
		}
	}
	if _, err := cli.Put(ctx, p[:len(p)-1]+"x", "outside"); err != nil {
		return nil, err
	}
	all, err := cli.Get(ctx, p, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	if !sameStrings(keysOf(all.Kvs), []string{p + "a", p + "b", p + "c"}) || all.Count != 3 || all.More {
		return nil, errorf("prefix range: keys %v count %d more %v", keysOf(all.Kvs), all.Count, all.More)
	}
	if all.Kvs[0].Version != 2 || all.Kvs[0].CreateRevision != rA {
		return nil, errorf("overwritten key: version %d create %d", all.Kvs[0].Version, all.Kvs[0].CreateRevision)
	}
	limited, err := cli.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithLimit(2))
	if err != nil {
		return nil, err
	}
	if len(limited.Kvs) != 2 || limited.Count != 3 || !limited.More {
		return nil, errorf("limit 2: %d kvs, count %d, more %v", len(limited.Kvs), limited.Count, limited.More)
	}
	counted, err := cli.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return nil, err
	}
	desc, err := cli.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
	if err != nil {
		return nil, err
	}
	if counted.Count != 3 || len(counted.Kvs) != 0 ||
		!sameStrings(keysOf(desc.Kvs), []string{p + "c", p + "b", p + "a"}) || len(desc.Kvs[0].Value) != 0 {
		return nil, errorf("count-only %d/%d kvs, keys-only descending %v", counted.Count, len(counted.Kvs), keysOf(desc.Kvs))
	}
	ranged, err := cli.Get(ctx, p+"b", clientv3.WithRange(p+"d"))
	if err != nil {
		return nil, err
	}
	old, err := cli.Get(ctx, p+"a", clientv3.WithRev(rA))
	if err != nil {
		return nil, err
	}
	if !sameStrings(keysOf(ranged.Kvs), []string{p + "b", p + "c"}) || string(old.Kvs[0].Value) != "1" {
		return nil, errorf("range [b,d): %v; a at revision %d: %q", keysOf(ranged.Kvs), rA, old.Kvs[0].Value)
	}
	del, err := cli.Delete(ctx, p+"a", clientv3.WithPrevKV())
	if err != nil {
		return nil, err
	}
	if del.Deleted != 1 || len(del.PrevKvs) != 1 || string(del.PrevKvs[0].Value) != "2" {
		return nil, errorf("delete WithPrevKV: deleted %d prev %v", del.Deleted, del.PrevKvs)
	}
	delAll, err := cli.Delete(ctx, p, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	after, err := cli.Get(ctx, p, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	outside, err := cli.Get(ctx, p[:len(p)-1]+"x")
	if err != nil {
		return nil, err
	}
	if delAll.Deleted != 2 || after.Count != 0 || len(outside.Kvs) != 1 || after.Header.Revision != delAll.Header.Revision {
		return nil, errorf("delete prefix: deleted %d, left %d, outside key kept %d", delAll.Deleted, after.Count, len(outside.Kvs))
	}
	return fields{"revisions": delAll.Header.Revision - rA}, nil
}

func checkTxn(cli *clientv3.Client, p string) (fields, error) {
	ctx, cancel := ctx5()
	defer cancel()
	k := p + "t"
	put, err := cli.Put(ctx, k, "v1")
	if err != nil {
		return nil, err
	}
	r1 := put.Header.Revision
	then, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(k), "=", r1)).
		Then(clientv3.OpPut(k, "v2"), clientv3.OpGet(k)).Else(clientv3.OpGet(k)).Commit()
	if err != nil {
		return nil, err
	}
	if !then.Succeeded || len(then.Responses) != 2 || then.Responses[0].GetResponsePut() == nil ||
		string(then.Responses[1].GetResponseRange().Kvs[0].Value) != "v2" || then.Header.Revision != r1+1 {
		return nil, errorf("txn then: %v", then)
	}
	stale, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(k), "=", r1)).
		Then(clientv3.OpPut(k, "lost")).Else(clientv3.OpGet(k)).Commit()
	if err != nil {
		return nil, err
	}
	if stale.Succeeded || string(stale.Responses[0].GetResponseRange().Kvs[0].Value) != "v2" || stale.Header.Revision != r1+1 {
		return nil, errorf("txn on a stale mod_revision took the then branch or wrote: %v", stale)
	}
	byValue, err := cli.Txn(ctx).If(
		clientv3.Compare(clientv3.Value(k), "=", "v2"),
		clientv3.Compare(clientv3.Version(k), "=", 2),
		clientv3.Compare(clientv3.CreateRevision(k), "=", r1),
		clientv3.Compare(clientv3.Value(k), ">", "v1"),
	).Then(clientv3.OpDelete(k, clientv3.WithPrevKV())).Commit()
	if err != nil {
		return nil, err
	}
	wrongValue, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.Value(k), "=", "v2")).Then(clientv3.OpPut(k, "no")).Commit()
	if err != nil {
		return nil, err
	}
	create, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, "v3")).Else(clientv3.OpGet(k)).Commit()
	if err != nil {
		return nil, err
	}
	if !byValue.Succeeded || string(byValue.Responses[0].GetResponseDeleteRange().PrevKvs[0].Value) != "v2" ||
		wrongValue.Succeeded || !create.Succeeded {
		return nil, errorf("value/version compares: delete %v, compare on a deleted key %v, create-if-absent %v",
			byValue.Succeeded, wrongValue.Succeeded, create.Succeeded)
	}
	return fields{}, nil
}

type seenEvent struct {
	Type  string `json:"type"`
	Key   string `json:"key"`
	Value string `json:"value"`
	Rev   int64  `json:"rev"`
	Prev  string `json:"prev,omitempty"`
}

func describeEvent(ev *clientv3.Event) seenEvent {
	e := seenEvent{Type: ev.Type.String(), Key: string(ev.Kv.Key), Value: string(ev.Kv.Value), Rev: ev.Kv.ModRevision}
	if ev.PrevKv != nil {
		e.Prev = string(ev.PrevKv.Value)
	}
	return e
}

func checkWatchHistory(cli *clientv3.Client, p string) (fields, error) {
	ctx, cancel := ctx5()
	defer cancel()
	var revs []int64
	for _, op := range []clientv3.Op{
		clientv3.OpPut(p+"1", "a"), clientv3.OpPut(p+"1", "b"), clientv3.OpDelete(p + "1"), clientv3.OpPut(p+"2", "c"),
	} {
		resp, err := cli.Do(ctx, op)
		if err != nil {
			return nil, err
		}
		if op.IsPut() {
			revs = append(revs, resp.Put().Header.Revision)
		} else {
			revs = append(revs, resp.Del().Header.Revision)
		}
	}
	want := []seenEvent{
		{"PUT", p + "1", "a", revs[0], ""},
		{"PUT", p + "1", "b", revs[1], "a"},
		{"DELETE", p + "1", "", revs[2], "b"},
		{"PUT", p + "2", "c", revs[3], ""},
		{"PUT", p + "3", "d", 0, ""},
	}
	wch := cli.Watch(ctx, p, clientv3.WithPrefix(), clientv3.WithRev(revs[0]), clientv3.WithPrevKV())
	var got []seenEvent
	for len(got) < len(want) {
		select {
		case resp, ok := <-wch:
			if !ok || resp.Err() != nil {
				return nil, errorf("watch ended: %v after %v", resp.Err(), got)
			}
			for _, ev := range resp.Events {
				got = append(got, describeEvent(ev))
			}
			if len(got) == 4 {
				put, err := cli.Put(ctx, p+"3", "d")
				if err != nil {
					return nil, err
				}
				want[4].Rev = put.Header.Revision
			}
		case <-ctx.Done():
			return nil, errorf("watch delivered %v, want %v", got, want)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return nil, errorf("watch WithRev WithPrevKV delivered %v, want %v", got, want)
	}
	return fields{"events": got}, nil
}

func checkProgressNotify(cli *clientv3.Client, p string) (fields, error) {
	ctx, cancel := ctx5()
	defer cancel()
	// RequestProgress goes to the watch stream of the same context, so both use ctx.
	wch := cli.Watch(ctx, p, clientv3.WithPrefix(), clientv3.WithProgressNotify(), clientv3.WithCreatedNotify())
	created := <-wch
	if !created.Created {
		return nil, errorf("first watch response is not the created notice: %+v", created)
	}
	put, err := cli.Put(ctx, p[:len(p)-1]+"-elsewhere", "x")
	if err != nil {
		return nil, err
	}
	// The stream may be on a follower that has not applied the put yet: its progress notifications may
	// lag behind (never pass) the put's revision, and catch up.
	requests := 0
	for {
		requests++
		if err := cli.RequestProgress(ctx); err != nil {
			return nil, err
		}
		var resp clientv3.WatchResponse
		select {
		case resp = <-wch:
		case <-ctx.Done():
			return nil, errorf("no progress notification after RequestProgress")
		}
		if !resp.IsProgressNotify() || resp.Header.Revision > put.Header.Revision {
			return nil, errorf("after RequestProgress: progress %v, header revision %d, last put %d, %d events",
				resp.IsProgressNotify(), resp.Header.Revision, put.Header.Revision, len(resp.Events))
		}
		if resp.Header.Revision == put.Header.Revision {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	own, err := cli.Put(ctx, p+"k", "v")
	if err != nil {
		return nil, err
	}
	resp := <-wch
	if len(resp.Events) != 1 || resp.Events[0].Kv.ModRevision != own.Header.Revision {
		return nil, errorf("event after the progress notification: %+v", resp)
	}
	return fields{"progressRequests": requests}, nil
}

func checkLease(cli *clientv3.Client, p string) (fields, error) {
	ctx, cancel := ctx5()
	defer cancel()
	grant, err := cli.Grant(ctx, 5)
	if err != nil {
		return nil, err
	}
	if grant.TTL != 5 {
		return nil, errorf("granted TTL %d, asked 5", grant.TTL)
	}
	if _, err := cli.Put(ctx, p+"k", "v", clientv3.WithLease(grant.ID)); err != nil {
		return nil, err
	}
	ttl, err := cli.TimeToLive(ctx, grant.ID, clientv3.WithAttachedKeys())
	if err != nil {
		return nil, err
	}
	if ttl.GrantedTTL != 5 || ttl.TTL <= 0 || ttl.TTL > 5 || len(ttl.Keys) != 1 || string(ttl.Keys[0]) != p+"k" {
		return nil, errorf("TimeToLive: %+v", ttl)
	}
	leases, err := cli.Leases(ctx)
	if err != nil {
		return nil, err
	}
	listed := false
	for _, l := range leases.Leases {
		listed = listed || l.ID == grant.ID
	}
	kaCtx, kaCancel := context.WithCancel(ctx)
	ka, err := cli.KeepAlive(kaCtx, grant.ID)
	if err != nil {
		kaCancel()
		return nil, err
	}
	first := <-ka
	kaCancel()
	if !listed || first == nil || first.ID != grant.ID || first.TTL != 5 {
		return nil, errorf("Leases lists it: %v; first keep-alive: %+v", listed, first)
	}
	if _, err := cli.Revoke(ctx, grant.ID); err != nil {
		return nil, err
	}
	gone, err := cli.Get(ctx, p+"k")
	if err != nil {
		return nil, err
	}
	expired, err := cli.TimeToLive(ctx, grant.ID)
	if err != nil {
		return nil, err
	}
	_, onceErr := cli.KeepAliveOnce(ctx, grant.ID)
	if len(gone.Kvs) != 0 || expired.TTL != -1 || onceErr != rpctypes.ErrLeaseNotFound {
		return nil, errorf("after revoke: key left %d, TTL %d, keep-alive error %v", len(gone.Kvs), expired.TTL, onceErr)
	}
	return fields{}, nil
}

// sessions opens one client and one session per participant: separate applications.
func sessions(endpoints []string, n int, ttl int) ([]*concurrency.Session, func(), error) {
	var out []*concurrency.Session
	var clients []*clientv3.Client
	closeAll := func() {
		for _, s := range out {
			s.Close()
		}
		for _, c := range clients {
			c.Close()
		}
	}
	for i := 0; i < n; i++ {
		c, err := newClient(endpoints)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		clients = append(clients, c)
		s, err := concurrency.NewSession(c, concurrency.WithTTL(ttl))
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		out = append(out, s)
	}
	return out, closeAll, nil
}

// blockedFor tells whether done stays silent for d (a waiter that must keep waiting).
func blockedFor(done <-chan error, d time.Duration) bool {
	select {
	case <-done:
		return false
	case <-time.After(d):
		return true
	}
}

func checkMutex(endpoints []string, p string) (fields, error) {
	ss, closeAll, err := sessions(endpoints, 2, 10)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	ctx, cancel := ctx5()
	defer cancel()
	name := p + "lock" // the Mutex adds the "/"
	m1, m2 := concurrency.NewMutex(ss[0], name), concurrency.NewMutex(ss[1], name)
	if err := m1.Lock(ctx); err != nil {
		return nil, err
	}
	if want := fmt.Sprintf("%s/%x", name, ss[0].Lease()); m1.Key() != want {
		return nil, errorf("lock key %q, want %q", m1.Key(), want)
	}
	second := make(chan error, 1)
	go func() { second <- m2.Lock(ctx) }()
	if !blockedFor(second, 500*time.Millisecond) {
		return nil, errorf("a second session got the lock while the first held it")
	}
	cli := ss[0].Client()
	held, err := cli.Txn(ctx).If(m1.IsOwner()).Then(clientv3.OpPut(p+"data", "1")).Commit()
	if err != nil {
		return nil, err
	}
	if err := m1.Unlock(ctx); err != nil {
		return nil, err
	}
	if err := <-second; err != nil {
		return nil, err
	}
	notOwner, err := cli.Txn(ctx).If(m1.IsOwner()).Then(clientv3.OpPut(p+"data", "2")).Commit()
	if err != nil {
		return nil, err
	}
	owner, err := cli.Txn(ctx).If(m2.IsOwner()).Then(clientv3.OpPut(p+"data", "3")).Commit()
	if err != nil {
		return nil, err
	}
	if !held.Succeeded || notOwner.Succeeded || !owner.Succeeded {
		return nil, errorf("IsOwner compares: holder %v, former holder %v, new holder %v", held.Succeeded, notOwner.Succeeded, owner.Succeeded)
	}
	// A session whose lease dies loses the lock to the next waiter (the holder process crashed).
	m3 := concurrency.NewMutex(ss[0], name)
	third := make(chan error, 1)
	go func() { third <- m3.Lock(ctx) }()
	if !blockedFor(third, 300*time.Millisecond) {
		return nil, errorf("lock granted while held")
	}
	if _, err := cli.Revoke(ctx, ss[1].Lease()); err != nil {
		return nil, err
	}
	if err := <-third; err != nil {
		return nil, errorf("the waiter did not get the lock after the holder's lease was revoked: %v", err)
	}
	return fields{}, m3.Unlock(ctx)
}

func checkElection(endpoints []string, p string) (fields, error) {
	ss, closeAll, err := sessions(endpoints, 3, 10)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	ctx, cancel := ctxTimeout(10 * time.Second)
	defer cancel()
	name := p + "leader" // the Election adds the "/"
	e1, e2, watcher := concurrency.NewElection(ss[0], name), concurrency.NewElection(ss[1], name), concurrency.NewElection(ss[2], name)
	if _, err := watcher.Leader(ctx); err != concurrency.ErrElectionNoLeader {
		return nil, errorf("Leader of an empty election: %v, want %v", err, concurrency.ErrElectionNoLeader)
	}
	if err := e1.Campaign(ctx, "one"); err != nil {
		return nil, err
	}
	observed := watcher.Observe(ctx)
	next := func() (string, error) {
		select {
		case resp, ok := <-observed:
			if !ok {
				return "", errorf("observe channel closed")
			}
			return string(resp.Kvs[0].Value), nil
		case <-ctx.Done():
			return "", errorf("observe: nothing within the deadline")
		}
	}
	var seen []string
	expect := func(v string) error {
		got, err := next()
		seen = append(seen, got)
		if err != nil || got != v {
			return errorf("observe: %v (seen %v, want %q)", err, seen, v)
		}
		return nil
	}
	if err := expect("one"); err != nil {
		return nil, err
	}
	second := make(chan error, 1)
	go func() { second <- e2.Campaign(ctx, "two") }()
	if !blockedFor(second, 500*time.Millisecond) {
		return nil, errorf("a second candidate was elected while the first leads")
	}
	if err := e1.Proclaim(ctx, "one-again"); err != nil {
		return nil, err
	}
	if err := expect("one-again"); err != nil {
		return nil, err
	}
	if err := e1.Resign(ctx); err != nil {
		return nil, err
	}
	if err := <-second; err != nil {
		return nil, err
	}
	if err := expect("two"); err != nil {
		return nil, err
	}
	leader, err := watcher.Leader(ctx)
	if err != nil {
		return nil, err
	}
	if string(leader.Kvs[0].Value) != "two" || string(leader.Kvs[0].Key) != e2.Key() {
		return nil, errorf("Leader: %s=%s, want %s=two", leader.Kvs[0].Key, leader.Kvs[0].Value, e2.Key())
	}
	if err := e1.Proclaim(ctx, "usurper"); err != concurrency.ErrElectionNotLeader {
		return nil, errorf("Proclaim by a resigned leader: %v", err)
	}
	if err := e2.Resign(ctx); err != nil {
		return nil, err
	}
	return fields{"observed": seen}, nil
}

func checkSTM(endpoints []string, p string) (fields, error) {
	const accounts, initial, workers, transfers = 5, 100, 4, 15
	cli, err := newClient(endpoints)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	ctx, cancel := ctxTimeout(20 * time.Second)
	defer cancel()
	for i := 0; i < accounts; i++ {
		if _, err := cli.Put(ctx, fmt.Sprintf("%s%d", p, i), strconv.Itoa(initial)); err != nil {
			return nil, err
		}
	}
	var wg sync.WaitGroup
	var futureRevs int64
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for t := 0; t < transfers; t++ {
				from, to, amount := rng.Intn(accounts), rng.Intn(accounts), 1+rng.Intn(30)
				// The serializable STM reads from any member at the revision of its first read: a member
				// that has not applied it yet answers ErrFutureRev (etcd too), and the application retries.
				var err error
				for attempt := 0; attempt == 0 || err == rpctypes.ErrFutureRev && attempt < 50; attempt++ {
					if attempt > 0 {
						atomic.AddInt64(&futureRevs, 1)
						time.Sleep(10 * time.Millisecond)
					}
					_, err = concurrency.NewSTM(cli, func(s concurrency.STM) error {
						fk, tk := fmt.Sprintf("%s%d", p, from), fmt.Sprintf("%s%d", p, to)
						fb, _ := strconv.Atoi(s.Get(fk))
						tb, _ := strconv.Atoi(s.Get(tk))
						if from == to || fb < amount {
							return nil
						}
						s.Put(fk, strconv.Itoa(fb-amount))
						s.Put(tk, strconv.Itoa(tb+amount))
						return nil
					}, concurrency.WithAbortContext(ctx))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return nil, err
	}
	all, err := cli.Get(ctx, p, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	sum, balances := 0, []int{}
	for _, kv := range all.Kvs {
		b, _ := strconv.Atoi(string(kv.Value))
		sum += b
		balances = append(balances, b)
	}
	if sum != accounts*initial || len(all.Kvs) != accounts {
		return nil, errorf("after %d transfers the balances %v sum to %d, want %d", workers*transfers, balances, sum, accounts*initial)
	}
	return fields{"balances": balances, "futureRevRetries": futureRevs}, nil
}
