package app

import (
	"sync"
	"time"
)

// store holds all application data in memory, behind one mutex. Every
// method returns copies, never pointers into the store.
type store struct {
	now            func() time.Time
	settleAfter    time.Duration
	validationStep time.Duration

	mu         sync.Mutex
	users      []*User
	customers  []*Customer
	txns       []*Transaction // orders and refunds, in creation order
	audit      []AuditEntry
	nextRefund int
	imports    []ImportRecord
	run        *validationRun
}

func newStore(now func() time.Time, settleAfter, validationStep time.Duration) *store {
	s := &store{now: now, settleAfter: settleAfter, validationStep: validationStep}
	s.reset()
	return s
}

// reset replaces all data with the deterministic seed.
func (s *store) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = seedUsers()
	s.customers = seedCustomers()
	s.txns = seedTransactions()
	s.audit = nil
	s.nextRefund = firstRefundNumber
	s.imports = seedImports()
	s.run = nil
}
