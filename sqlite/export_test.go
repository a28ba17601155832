package sqlite

import (
	"context"
	"time"
)

// RunCheckpointerTicks is RunCheckpointer driven by tick instead of a
// ticker, for tests.
func (db *DB) RunCheckpointerTicks(ctx context.Context, tick <-chan time.Time) error {
	return db.runCheckpointer(ctx, tick)
}
