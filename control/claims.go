package control

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"freezer/store"
)

// Claims keep two actions — in this process or any other sharing the
// catalog — off one archive or vault. A claim is a row in the catalog
// owned by an engine (owner.go says when an owner counts as dead). An
// archive claim also respects a claim on its vault (a vault being
// removed), and a vault claim every claim on the vault's archives.

func archiveResource(vault, name string) string { return "archive:" + vault + "/" + name }
func vaultResource(vault string) string         { return "vault:" + vault }

// claimSet is what an action holds; Release is safe to call more than
// once.
type claimSet struct {
	e         *Engine
	resources []string
	once      sync.Once
}

// Release gives the claims back.
func (c *claimSet) Release() {
	if c == nil {
		return
	}
	c.once.Do(func() {
		ctx := context.WithoutCancel(c.e.ctx)
		err := c.e.o.DB.Update(ctx, func(tx *store.Tx) error { return c.release(ctx, tx) })
		if err != nil {
			c.e.log.Warn().Err(err).Strs("claims", c.resources).Msg("could not release claims; they go when this process ends")
		}
		c.e.changed()
	})
}

func (c *claimSet) release(ctx context.Context, tx *store.Tx) error {
	for _, r := range c.resources {
		if err := tx.ReleaseClaim(ctx, r, c.e.id); err != nil {
			return err
		}
	}
	return nil
}

// claim takes the resources for this engine, all or none, in one
// transaction. doing says what is done to them, as a past participle
// ("uploaded"), for the refusal another action gets meanwhile.
func (e *Engine) claim(ctx context.Context, doing string, resources ...string) (*claimSet, error) {
	if e.isClosed() {
		return nil, mark(ErrInterrupted, fmt.Errorf("freezer is stopping"))
	}
	err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
		if err := e.register(ctx, tx); err != nil {
			return err
		}
		for _, r := range resources {
			if err := e.checkFree(ctx, tx, r); err != nil {
				return err
			}
			if err := tx.PutClaim(ctx, r, e.id, doing, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.markRegistered()
	return &claimSet{e: e, resources: resources}, nil
}

// checkFree refuses a resource held by a live engine (this one included)
// and takes it over from a dead one.
func (e *Engine) checkFree(ctx context.Context, tx *store.Tx, resource string) error {
	related := []string{resource}
	if v, _, ok := strings.Cut(strings.TrimPrefix(resource, "archive:"), "/"); ok && strings.HasPrefix(resource, "archive:") {
		related = append(related, vaultResource(v))
	}
	for _, r := range related {
		c, ok, err := tx.Claim(ctx, r)
		if err != nil {
			return err
		}
		if ok {
			if err := e.holder(ctx, tx, c); err != nil {
				return err
			}
		}
	}
	if v, ok := strings.CutPrefix(resource, "vault:"); ok {
		claims, err := tx.ClaimsUnder(ctx, "archive:"+v+"/")
		if err != nil {
			return err
		}
		for _, c := range claims {
			if err := e.holder(ctx, tx, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// holder refuses a live claim, and clears a dead engine's.
func (e *Engine) holder(ctx context.Context, tx *store.Tx, c store.Claim) error {
	if e.me.alive(c.Engine, e.id, e.o.Now()) {
		return mark(ErrBusy, fmt.Errorf("busy: %s is being %s by %s", describeResource(c.Resource), c.Doing, e.me.describeOwner(c.Engine, e.id)))
	}
	return e.reap(ctx, tx, c.Engine)
}

// reap clears an engine found dead: its unfinished tasks become
// interrupted, its claims go.
func (e *Engine) reap(ctx context.Context, tx *store.Tx, dead store.Engine) error {
	tasks, err := tx.UnfinishedTasks(ctx)
	if err != nil {
		return err
	}
	var ids []int64
	for _, t := range tasks {
		if t.EngineID == dead.ID {
			ids = append(ids, t.ID)
		}
	}
	msg := fmt.Sprintf("interrupted: its process (pid %d on %s) stopped before it finished", dead.PID, dead.Host)
	if err := tx.MarkInterrupted(ctx, ids, msg); err != nil {
		return err
	}
	e.log.Info().Int("pid", dead.PID).Str("host", dead.Host).Str("command", dead.Command).Int("tasks", len(ids)).
		Msg("a freezer process stopped without cleaning up; its claims are released and its tasks marked interrupted")
	return tx.RemoveEngine(ctx, dead.ID)
}

// reapDead clears every dead engine (run now and then by live engines, so
// that status shows the truth without anyone having to trip over a
// stale claim).
func (e *Engine) reapDead(ctx context.Context) error {
	engines, err := e.o.DB.Engines(ctx)
	if err != nil {
		return err
	}
	now := e.o.Now()
	var dead []store.Engine
	for _, o := range engines {
		if !e.me.alive(o, e.id, now) {
			dead = append(dead, o)
		}
	}
	if len(dead) == 0 {
		return nil
	}
	return e.o.DB.Update(ctx, func(tx *store.Tx) error {
		current, err := tx.Engines(ctx)
		if err != nil {
			return err
		}
		for _, o := range current {
			if !e.me.alive(o, e.id, e.o.Now()) {
				if err := e.reap(ctx, tx, o); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// describeResource turns "archive:photos/x" into "photos/x" and
// "vault:photos" into "vault photos".
func describeResource(r string) string {
	if s, ok := strings.CutPrefix(r, "archive:"); ok {
		return s
	}
	if s, ok := strings.CutPrefix(r, "vault:"); ok {
		return "vault " + s
	}
	return r
}

func (e *Engine) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}
