package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// errLocked is returned by lockDir when another Store holds the directory.
var errLocked = errors.New("directory is locked by another store")

// ensureDir makes sure dir, a direct child of parent, exists, that its entry
// in parent is durable and that the entries in it are. Once per Store, it
// fsyncs dir and parent, whether this Store created dir or found it: what a
// process that crashed left in the page cache (a directory, a blob renamed
// in but not yet fsynced) is then durable before this Store acknowledges a
// Put of the same content. Later changes in dir are fsynced by whoever makes
// them.
func (s *Store) ensureDir(parent, dir string) error {
	if _, ok := s.durable.Load(dir); ok {
		return nil
	}
	// One lock per directory: Puts into different new directories make
	// them at once.
	mu, _ := s.dirLocks.LoadOrStore(dir, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if _, ok := s.durable.Load(dir); ok {
		return nil
	}
	err := os.Mkdir(dir, dirMode)
	switch {
	case errors.Is(err, fs.ErrExist):
		err = syncDir(dir) // found: its entries may not be durable yet
	case err != nil:
		return err
	}
	if err == nil {
		err = syncDir(parent)
	}
	if err != nil {
		return err
	}
	s.durable.Store(dir, struct{}{})
	return nil
}

// ensureBlobDir makes sure the directory of the blob sha exists durably.
func (s *Store) ensureBlobDir(sha string) error {
	root := filepath.Join(s.dir, contentDir)
	ab := filepath.Join(root, sha[:2])
	if err := s.ensureDir(root, ab); err != nil {
		return err
	}
	return s.ensureDir(ab, filepath.Join(ab, sha[2:4]))
}

// mkdirAllDurable creates dir and any missing parents, fsyncing each new
// directory into its parent.
func mkdirAllDurable(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllDurable(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// finish makes the temporary file f read-only and durable, and closes it,
// whatever fails.
func finish(f *os.File) error {
	err := f.Chmod(fileMode)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
