package pebble

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	engine "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Open's failures, one for each thing an operator does about them. An
// error Open returns matches one of them with errors.Is, and its message
// names the directory and what to do, unless the system failed in a way
// its own error says (a full or read-only device, an I/O error). Only
// ErrUnreadable advises moving the directory aside: after any other
// failure it may hold a good store, perhaps one in use.
var (
	// ErrInUse: another process holds the directory's lock, most likely a
	// running mqgate, or the store is already open in this process.
	ErrInUse = errors.New("data directory in use")
	// ErrPermission: the user mqgate runs as may not reach, create, read
	// or write the directory or a file in it.
	ErrPermission = errors.New("data directory permission denied")
	// ErrParentMissing: the directory does not exist and neither does the
	// one above it. Open creates the last level only, so that a mistyped
	// path or an unmounted drive does not start an empty store elsewhere.
	ErrParentMissing = errors.New("data directory parent missing")
	// ErrNotDirectory: the path, or a component of it, is not a directory.
	ErrNotDirectory = errors.New("data directory path is not a directory")
	// ErrNotStore: the directory holds files, none of them a store's.
	ErrNotStore = errors.New("not a data directory")
	// ErrUnreadable: the directory holds a store this mqgate cannot read:
	// damaged, or in a format it does not know.
	ErrUnreadable = errors.New("data directory unreadable")
)

// dirError is one of Open's failures: kind is a sentinel above, cause what
// the system or Pebble reported (nil if nothing did), msg the message.
type dirError struct {
	kind, cause error
	msg         string
}

func (e *dirError) Error() string { return e.msg }

func (e *dirError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func dirErr(kind, cause error, format string, args ...any) error {
	return &dirError{kind: kind, cause: cause, msg: "store: " + fmt.Sprintf(format, args...)}
}

// prepareDir makes dir ready for the lock: it creates the directory if
// only its last level is missing, refuses a non-empty directory that holds
// no store, so a mistyped path never turns someone's files into one, and
// checks that the user may create files in it.
func prepareDir(fs vfs.FS, osFS bool, dir string) error {
	fi, err := fs.Stat(dir)
	switch {
	case err == nil:
		if !fi.IsDir() {
			return dirErr(ErrNotDirectory, nil, "data directory %s is a file, not a directory", dir)
		}
	case errors.Is(err, iofs.ErrNotExist):
		if err := createDir(fs, dir); err != nil {
			return err
		}
	default:
		return pathError(fs, dir, err)
	}
	names, err := fs.List(dir)
	if err != nil {
		if errors.Is(err, iofs.ErrPermission) {
			return permissionError(dir, "list "+dir, "read, write and execute permission on "+dir, true, err)
		}
		return otherError(dir, err)
	}
	if other := foreignFile(names); other != "" {
		return dirErr(ErrNotStore, nil, "%s is not an mqgate data directory (it holds %s and no Pebble MANIFEST); choose an empty or new directory",
			dir, fs.PathJoin(dir, other))
	}
	if osFS {
		if err := writable(dir); err != nil {
			if errors.Is(err, iofs.ErrPermission) {
				return permissionError(dir, "create files in "+dir, "write and execute permission on "+dir, true, err)
			}
			return otherError(dir, err)
		}
	}
	return nil
}

// foreignFile returns a file of names that is not a store's, or "" if one
// of them is Pebble's (the directory is a store, perhaps a damaged one).
func foreignFile(names []string) string {
	other := ""
	for _, n := range names {
		if strings.Contains(n, "MANIFEST") || strings.HasPrefix(n, "OPTIONS-") ||
			strings.HasPrefix(n, "marker.") || n == "CURRENT" {
			return ""
		}
		if n != "LOCK" && other == "" {
			other = n
		}
	}
	return other
}

// createDir creates dir, whose parent must exist, and syncs the parent so
// the new directory survives a power cut with what is written into it.
func createDir(fs vfs.FS, dir string) error {
	parent := fs.PathDir(dir)
	fi, err := fs.Stat(parent)
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		missing := parent
		for p := fs.PathDir(missing); p != missing; missing, p = p, fs.PathDir(p) {
			if _, err := fs.Stat(p); !errors.Is(err, iofs.ErrNotExist) {
				break
			}
		}
		return dirErr(ErrParentMissing, err, "cannot create data directory %s: %s does not exist; mqgate creates the data directory "+
			"but not the directories above it: create them, or correct the path (is the drive it is on mounted?)", dir, missing)
	case err != nil:
		return pathError(fs, dir, err)
	case !fi.IsDir():
		return dirErr(ErrNotDirectory, nil, "cannot create data directory %s: %s is a file, not a directory", dir, parent)
	}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		if errors.Is(err, iofs.ErrPermission) {
			return permissionError(dir, "create "+dir, "write and execute permission on "+parent+
				" (or create "+dir+" and give it to that user)", false, err)
		}
		return otherError(dir, err)
	}
	d, err := fs.OpenDir(parent)
	if err != nil {
		return otherError(dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return otherError(dir, err)
	}
	return nil
}

// pathError explains a failure to look up dir itself: a component that is
// a file, or a directory above it that the user may not search.
func pathError(fs vfs.FS, dir string, err error) error {
	// Walk up to the nearest ancestor that can be looked up: it is the
	// file, or the directory without search permission.
	p := dir
	for up := fs.PathDir(p); up != p; up = fs.PathDir(up) {
		p = up
		if _, serr := fs.Stat(p); serr == nil {
			break
		}
	}
	switch {
	case errors.Is(err, syscall.ENOTDIR):
		return dirErr(ErrNotDirectory, err, "cannot use data directory %s: %s is a file, not a directory", dir, p)
	case errors.Is(err, iofs.ErrPermission):
		return permissionError(dir, "reach "+dir, "execute (search) permission on "+p, false, err)
	}
	return otherError(dir, err)
}

// lockError explains why the directory's lock could not be taken.
func lockError(fs vfs.FS, osFS bool, dir string, err error) error {
	name := fs.PathJoin(dir, "LOCK")
	var pe *iofs.PathError
	switch {
	case errors.As(err, &pe): // creating or opening the LOCK file
		if !errors.Is(err, iofs.ErrPermission) {
			return otherError(dir, err)
		}
		if _, serr := fs.Stat(name); serr == nil {
			return permissionError(dir, "open "+name+" for writing", "read and write permission on "+name, true, err)
		}
		return permissionError(dir, "create files in "+dir, "write and execute permission on "+dir, true, err)
	case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES):
		// fcntl refuses a lock another process holds with one of these.
		holder := ""
		if osFS {
			if pid := lockHolder(name); pid > 0 {
				holder = fmt.Sprintf(", pid %d", pid)
			}
		}
		return dirErr(ErrInUse, err, "data directory %s is in use by another process%s (is another mqgate running?)", dir, holder)
	case !errors.As(err, new(syscall.Errno)):
		// Pebble refuses a second lock within the process itself, with an
		// error of its own rather than the system's.
		return dirErr(ErrInUse, err, "data directory %s is already open in this process", dir)
	}
	return otherError(dir, err)
}

// openFailure explains why Pebble could not open, or mqgate could not
// load, the locked directory.
func openFailure(dir string, err error) error {
	var pe *iofs.PathError
	switch {
	case errors.Is(err, iofs.ErrPermission) && errors.As(err, &pe):
		return permissionError(dir, pe.Op+" "+pe.Path,
			"read and write permission on every file in "+dir+" and read, write and execute permission on "+dir, true, err)
	case errors.Is(err, iofs.ErrNotExist):
		// A file the store's own records name is gone.
	case errors.As(err, new(syscall.Errno)):
		// The device or the system failed (full, read-only, I/O error):
		// the store may be fine.
		return otherError(dir, err)
	}
	return dirErr(ErrUnreadable, err, "cannot read data directory %s: %v; mqgate never deletes a data directory it cannot read: "+
		"move it aside (mv %s %s.broken) to start with an empty store, or restore it from a backup", dir, err, dir, dir)
}

// permissionError names the user mqgate runs as, what it could not do and
// the access it needs. inside says the failure is in the directory itself,
// whose files another user (root, say, running mqgate once) may own.
func permissionError(dir, action, need string, inside bool, err error) error {
	name, who := runningUser()
	hint := ""
	if inside {
		hint = fmt.Sprintf("; if another user owns the files, hand them over: chown -R %s %s", name, dir)
	}
	return dirErr(ErrPermission, err, "permission denied: %s cannot %s; it needs %s%s", who, action, need, hint)
}

// runningUser returns the effective user's name for chown, or its uid if
// it has none, and a description for messages.
func runningUser() (name, who string) {
	uid := strconv.Itoa(os.Geteuid())
	if u, err := user.LookupId(uid); err == nil && u.Username != "" {
		return u.Username, "user " + u.Username + " (uid " + uid + ")"
	}
	return uid, "uid " + uid
}

func otherError(dir string, err error) error {
	return fmt.Errorf("store: cannot open data directory %s: %w", dir, err)
}

// lockDir takes the directory's lock before Pebble opens it, so that a
// failure to lock is told apart from the failures that follow.
func lockDir(fs vfs.FS, osFS bool, dir string) (*engine.Lock, error) {
	l, err := engine.LockDirectory(dir, fs)
	if err != nil {
		return nil, lockError(fs, osFS, dir, err)
	}
	return l, nil
}
