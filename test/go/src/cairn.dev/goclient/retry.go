package main

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc/status"
)

// permanent marks an error a retry cannot fix (a broken invariant, not an unavailable member).
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }

func fatal(format string, args ...interface{}) error { return permanent{errorf(format, args...)} }

// retrier retries a call the way an application rides over a member's death: a deadline per attempt, a
// short pause, another attempt (clientv3 picks another member), up to an overall bound. It counts what
// failed so the report says what the client saw during the failover.
type retrier struct {
	mu      sync.Mutex
	retries int
	errs    map[string]int
}

const (
	attemptTimeout = 2 * time.Second
	retryBound     = 30 * time.Second
)

func newRetrier() *retrier { return &retrier{errs: map[string]int{}} }

func (rt *retrier) do(what string, attempt func(ctx context.Context) error) error {
	return rt.doWithin(what, attemptTimeout, attempt)
}

func (rt *retrier) doWithin(what string, perAttempt time.Duration, attempt func(ctx context.Context) error) error {
	deadline := time.Now().Add(retryBound)
	for {
		ctx, cancel := ctxTimeout(perAttempt)
		err := attempt(ctx)
		cancel()
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return errorf("%s: %v", what, p.err)
		}
		rt.note(err)
		if time.Now().After(deadline) {
			return errorf("%s: still failing after %s: %v", what, retryBound, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (rt *retrier) note(err error) {
	msg := err.Error()
	if s, ok := status.FromError(err); ok {
		msg = s.Code().String() + ": " + s.Message()
	}
	if len(msg) > 120 {
		msg = msg[:120]
	}
	rt.mu.Lock()
	rt.retries++
	rt.errs[msg]++
	rt.mu.Unlock()
}

// summary: how many retries, and the distinct errors behind them (most frequent first).
func (rt *retrier) summary() fields {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	msgs := make([]string, 0, len(rt.errs))
	for m := range rt.errs {
		msgs = append(msgs, m)
	}
	sort.Slice(msgs, func(i, j int) bool { return rt.errs[msgs[i]] > rt.errs[msgs[j]] })
	if len(msgs) > 5 {
		msgs = msgs[:5]
	}
	return fields{"retries": rt.retries, "errors": msgs}
}
