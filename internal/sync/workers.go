package sync

import (
	"context"
	gosync "sync"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus"
)

// pool is the bounded set of workers a walk hands records to. Workers run
// on AbortContext, not on the walk's context: cancelling the walk stops new
// work from being handed out and lets the files in flight finish.
type pool struct {
	work chan nexudus.File
	wg   gosync.WaitGroup

	mu      gosync.Mutex
	notDone []time.Time // minutes of records whose run recorded nothing
}

func (e *Engine) startPool(r *run) *pool {
	p := &pool{work: make(chan nexudus.File)}
	for i := 0; i < e.opt.Concurrency; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for f := range p.work {
				if !e.processFile(e.opt.AbortContext, r, f) && !f.UpdatedOn.IsZero() {
					p.mu.Lock()
					p.notDone = append(p.notDone, minute(f.UpdatedOn.Time))
					p.mu.Unlock()
				}
			}
		}()
	}
	return p
}

// hand gives f to a worker, or returns ctx's error when the walk stops
// before one is free.
func (p *pool) hand(ctx context.Context, f nexudus.File) error {
	select {
	case p.work <- f:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain waits for the files in flight and returns the minutes of those
// that are not done: the cursor must not pass them.
func (p *pool) drain() []time.Time {
	close(p.work)
	p.wg.Wait()
	return p.notDone
}
