//go:build !unix

package file

// syncDir does nothing where directories cannot be fsynced; renames are
// then only as durable as the filesystem makes them.
func syncDir(string) error { return nil }

// lockDir does not lock where flock is missing: one Store per directory is
// then the caller's duty.
func lockDir(string) (func() error, error) { return func() error { return nil }, nil }
