package pebble

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	engine "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/mqgate/mqgate/core/store"
)

// holdEnv makes the test binary a process that holds a store open: it
// opens the directory named, says "locked" and closes the store when its
// standard input ends.
const holdEnv = "MQGATE_TEST_HOLD_STORE"

func TestMain(m *testing.M) {
	if dir := os.Getenv(holdEnv); dir != "" {
		s, err := Open(dir, Options{})
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		if err := s.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// deniedFS refuses a Stat or a Lock of one path with EACCES, as the system
// does to a user without the access, so the messages are tested as root.
type deniedFS struct {
	vfs.FS
	stat, lock string
}

func (f deniedFS) Stat(name string) (vfs.FileInfo, error) {
	if name == f.stat {
		return nil, &iofs.PathError{Op: "stat", Path: name, Err: syscall.EACCES}
	}
	return f.FS.Stat(name)
}

func (f deniedFS) Lock(name string) (io.Closer, error) {
	if name == f.lock {
		return nil, &iofs.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}
	return f.FS.Lock(name)
}

func skipAsRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root bypasses file permissions")
	}
}

func chmod(t *testing.T, name string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(name, 0o755) })
}

// closedStore creates a store in dir holding one queued message.
func closedStore(t *testing.T, dir string) {
	t.Helper()
	s := openTest(t, dir, Options{})
	if _, err := s.Queues().Append(store.Key{ClientID: "c"}, &store.QueueEntry{Message: &store.Message{Topic: "t"}}, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesBadDirectory(t *testing.T) {
	uid := fmt.Sprintf("(uid %d)", os.Geteuid())
	tests := []struct {
		name string
		// prepare sets up base and returns the data directory to open.
		prepare func(t *testing.T, base string) (string, Options)
		kind    error
		want    []string // substrings of the error besides the directory; $BASE is base
	}{
		{"foreign files", func(t *testing.T, base string) (string, Options) {
			dir := filepath.Join(base, "data")
			os.Mkdir(dir, 0o755)
			write(t, filepath.Join(dir, "notes.txt"), "mine")
			return dir, Options{}
		}, ErrNotStore, []string{"not an mqgate data directory", "notes.txt", "choose an empty or new directory"}},
		{"corrupt manifest", func(t *testing.T, base string) (string, Options) {
			dir := filepath.Join(base, "data")
			closedStore(t, dir)
			m, _ := filepath.Glob(filepath.Join(dir, "MANIFEST-*"))
			if len(m) == 0 {
				t.Fatal("no MANIFEST written")
			}
			for _, f := range m {
				write(t, f, strings.Repeat("\xde\xad", 100))
			}
			return dir, Options{}
		}, ErrUnreadable, []string{"MANIFEST", "move it aside", "restore it from a backup"}},
		{"garbage CURRENT", func(t *testing.T, base string) (string, Options) {
			dir := filepath.Join(base, "data")
			os.Mkdir(dir, 0o755)
			write(t, filepath.Join(dir, "CURRENT"), "\x00\x01garbage")
			return dir, Options{}
		}, ErrUnreadable, []string{"move it aside", "restore it from a backup"}},
		{"file where the directory belongs", func(t *testing.T, base string) (string, Options) {
			dir := filepath.Join(base, "data")
			write(t, dir, "a file")
			return dir, Options{}
		}, ErrNotDirectory, []string{"is a file, not a directory"}},
		{"file where a parent belongs", func(t *testing.T, base string) (string, Options) {
			write(t, filepath.Join(base, "var"), "a file")
			return filepath.Join(base, "var", "data"), Options{}
		}, ErrNotDirectory, []string{"$BASE/var is a file, not a directory"}},
		{"parent missing", func(t *testing.T, base string) (string, Options) {
			return filepath.Join(base, "usb", "mqgate", "data"), Options{}
		}, ErrParentMissing, []string{"$BASE/usb does not exist", "not the directories above it"}},
		{"directory without access", func(t *testing.T, base string) (string, Options) {
			skipAsRoot(t)
			dir := filepath.Join(base, "data")
			closedStore(t, dir)
			chmod(t, dir, 0)
			return dir, Options{}
		}, ErrPermission, []string{uid, "cannot list", "needs read, write and execute permission on", "chown -R"}},
		{"directory without write access", func(t *testing.T, base string) (string, Options) {
			skipAsRoot(t)
			dir := filepath.Join(base, "data")
			os.Mkdir(dir, 0o755)
			chmod(t, dir, 0o500)
			return dir, Options{}
		}, ErrPermission, []string{uid, "cannot create files in", "needs write and execute permission on", "chown -R"}},
		{"parent without write access", func(t *testing.T, base string) (string, Options) {
			skipAsRoot(t)
			parent := filepath.Join(base, "lib")
			os.Mkdir(parent, 0o755)
			chmod(t, parent, 0o500)
			return filepath.Join(parent, "data"), Options{}
		}, ErrPermission, []string{uid, "cannot create", "needs write and execute permission on $BASE/lib"}},
		{"parent without search access (simulated)", func(t *testing.T, base string) (string, Options) {
			dir := filepath.Join(base, "lib", "data")
			os.MkdirAll(dir, 0o755)
			return dir, Options{FS: deniedFS{FS: vfs.Default, stat: dir}}
		}, ErrPermission, []string{uid, "cannot reach", "needs execute (search) permission on $BASE/lib"}},
		{"lock file of another user (simulated)", func(t *testing.T, base string) (string, Options) {
			dir := filepath.Join(base, "data")
			closedStore(t, dir)
			return dir, Options{FS: deniedFS{FS: vfs.Default, lock: filepath.Join(dir, "LOCK")}}
		}, ErrPermission, []string{uid, "cannot open $BASE/data/LOCK for writing", "read and write permission on", "chown -R"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			dir, opts := tt.prepare(t, base)
			before := listAll(t, base)
			s, err := Open(dir, opts)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %q is not %q", err, tt.kind)
			}
			want := []string{dir}
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "$BASE", base))
			}
			checkMessage(t, err, tt.kind, want...)
			if after := listAll(t, base); after != before {
				t.Errorf("Open changed the directory:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// TestOpenRefusesNewerFormat: a store whose format record is from a newer
// mqgate is refused as unreadable and the record is kept. Pebble itself
// opens such a store, and may rewrite its own files with the same records.
func TestOpenRefusesNewerFormat(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	closedStore(t, dir)
	raw := func(fn func(db *engine.DB)) {
		t.Helper()
		db, err := engine.Open(dir, &engine.Options{Logger: engineLogger{slog.New(slog.DiscardHandler)}})
		if err != nil {
			t.Fatal(err)
		}
		fn(db)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	newer := []byte{formatVersion + 1}
	raw(func(db *engine.DB) {
		if err := db.Set(keyFormat, newer, engine.Sync); err != nil {
			t.Fatal(err)
		}
	})
	s, err := Open(dir, Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded")
	}
	if !errors.Is(err, ErrUnreadable) {
		t.Errorf("error %q is not %q", err, ErrUnreadable)
	}
	checkMessage(t, err, ErrUnreadable, dir, "this mqgate reads format", "move it aside", "restore it from a backup")
	raw(func(db *engine.DB) {
		v, closer, err := db.Get(keyFormat)
		if err != nil {
			t.Fatal(err)
		}
		defer closer.Close()
		if string(v) != string(newer) {
			t.Errorf("format record is %v after the refused Open, want %v", v, newer)
		}
	})
}

// checkMessage checks that err says all of want and advises moving the
// directory aside only if the store in it cannot be read.
func checkMessage(t *testing.T, err error, kind error, want ...string) {
	t.Helper()
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
	if aside := strings.Contains(msg, "aside"); aside != (kind == ErrUnreadable) {
		t.Errorf("error %q: advises moving the directory aside: %v, want %v", msg, aside, !aside)
	}
}

func TestOpenCreatesAMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	closedStore(t, dir)
	s := openTest(t, dir, Options{})
	n := 0
	if err := s.Queues().Range(store.Key{ClientID: "c"}, func(*store.QueueEntry) bool { n++; return true }); err != nil || n != 1 {
		t.Errorf("reopened store holds %d messages (%v), want 1", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesDirectoryOpenInThisProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := openTest(t, dir, Options{})
	defer s.Close()
	before := listAll(t, dir)
	s2, err := Open(dir, Options{})
	if err == nil {
		s2.Close()
		t.Fatal("second Open succeeded")
	}
	if !errors.Is(err, ErrInUse) {
		t.Errorf("error %q is not %q", err, ErrInUse)
	}
	checkMessage(t, err, ErrInUse, dir, "is already open in this process")
	if after := listAll(t, dir); after != before {
		t.Errorf("second Open changed the directory:\nbefore %s\nafter  %s", before, after)
	}
	// The first store still works.
	if _, err := s.Queues().Append(store.Key{ClientID: "c"}, &store.QueueEntry{Message: &store.Message{Topic: "t"}}, true); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesDirectoryInUseByAnotherProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if wrapper := os.Getenv("MQGATE_TEST_EXEC"); wrapper != "" {
		// Under qemu-user (scripts/qemu-test.sh) the child is an ARM
		// binary too: run it through the same emulator.
		cmd = exec.Command(wrapper, os.Args[0], "-test.run=^$")
	}
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stopHolder := func() {
		if !stopped {
			stopped = true
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("holder: %v", err)
			}
		}
	}
	defer stopHolder()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("holder said %q (%v), want \"locked\"", line, err)
	}

	_, err = Open(dir, Options{})
	if err == nil {
		t.Fatal("Open succeeded while another process holds the store")
	}
	if !errors.Is(err, ErrInUse) {
		t.Errorf("error %q is not %q", err, ErrInUse)
	}
	checkMessage(t, err, ErrInUse, dir, "is in use by another process", fmt.Sprintf("pid %d", cmd.Process.Pid), "is another mqgate running?")

	// Once the holder has closed the store, it opens.
	stopHolder()
	s := openTest(t, dir, Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// listAll describes every file under dir with its mode and content, to
// prove a failed Open left it alone. LOCK files are left out: taking the
// lock creates an empty one, which changes nothing of the store.
func listAll(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			b.WriteString(p + ": " + err.Error() + "\n")
			return nil
		}
		if fi.Name() == "LOCK" {
			return nil
		}
		data, _ := os.ReadFile(p)
		b.WriteString(p + " " + fi.Mode().String() + " " + string(data) + "\n")
		return nil
	})
	return b.String()
}
