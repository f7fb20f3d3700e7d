// Package pebble is the durable store.Store mqgate uses by default: an
// embedded Pebble LSM database in one data directory.
//
// Pebble was chosen because concurrent synced writes share one write-ahead
// log fsync (group commit), so many publishers' QoS 1 messages cost one
// device flush per batch rather than one each; an LSM writes each message
// roughly once to the log and a few times through compactions instead of
// rewriting B-tree pages, which matters for SD-card wear on a Raspberry Pi;
// and its crash-simulation filesystem lets the tests cut power at random.
//
// Sizes are tuned for a Raspberry Pi: an 8 MiB block cache (reads are
// mostly of recent messages still in the memtable or page cache, and every
// MiB counts next to 512 MiB-1 GiB of RAM) and 4 MiB memtables (Pebble keeps
// up to two while one flushes, so at most ~8 MiB of unflushed writes; small
// memtables flush often into small L0 files, which compactions soon merge
// away as queues are drained). See keys.go for the key layout and codec.go
// for the value encoding.
package pebble

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	engine "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/mqgate/mqgate/core/store"
)

// SyncMode says when sync-flagged writes reach stable storage.
type SyncMode int

// Sync modes.
const (
	// SyncAlways: every sync-flagged write is synced before it returns.
	// Concurrent ones share one fsync.
	SyncAlways SyncMode = iota
	// SyncBatch: sync-flagged writes return at once and are synced by a
	// background flush at most SyncInterval later. Messages acknowledged
	// within the last interval may be lost on power loss and on a process
	// crash: Pebble buffers unsynced log writes in the process. For SD
	// cards that cannot take a flush per message burst.
	SyncBatch
)

// Options configure Open. Zero values take the documented defaults.
type Options struct {
	Sync         SyncMode
	SyncInterval time.Duration // SyncBatch: default 100ms
	// CacheSize is Pebble's block cache (default 8 MiB); MemTableSize its
	// memtable (default 4 MiB). See the package documentation.
	CacheSize    int64
	MemTableSize uint64
	// FS is the filesystem; nil is the operating system's. Tests pass a
	// crash-simulating one.
	FS     vfs.FS
	Logger *slog.Logger
}

// Store is the durable store. Open one with Open.
type Store struct {
	db    *engine.DB
	lock  *engine.Lock // the directory's; released after db is closed
	dir   string
	log   *slog.Logger
	wsync *engine.WriteOptions // for sync-flagged writes
	syncs syncLatency          // Sync's device flushes, for /metrics
	batch bool
	dirty atomic.Bool // SyncBatch: sync-flagged writes await the flusher
	stop  chan struct{}
	wg    sync.WaitGroup

	seqMu     sync.Mutex
	nextSeq   uint64
	seqLimit  uint64 // seqs below this are reserved on disk
	bufs      sync.Pool
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

const formatVersion = 1

// seqBlock is how many sequence numbers one synced meta write reserves; a
// variable so the crash tests can make reservations frequent.
var seqBlock uint64 = 1 << 16

// Open opens or creates the store in dir, creating dir itself if its
// parent exists. A directory that cannot be read as a store is never
// modified. An error says what went wrong and what to do, and matches the
// Err variable of this package for its cause.
func Open(dir string, opts Options) (*Store, error) {
	dir = filepath.Clean(dir) // messages suggest commands with it
	fs := opts.FS
	if fs == nil {
		fs = vfs.Default
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 8 << 20
	}
	if opts.MemTableSize == 0 {
		opts.MemTableSize = 4 << 20
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = 100 * time.Millisecond
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	osFS := opts.FS == nil
	if err := prepareDir(fs, osFS, dir); err != nil {
		return nil, err
	}
	lock, err := lockDir(fs, osFS, dir)
	if err != nil {
		return nil, err
	}
	cache := engine.NewCache(opts.CacheSize)
	defer cache.Unref()
	eopts := &engine.Options{
		FS:                 fs,
		Cache:              cache,
		MemTableSize:       opts.MemTableSize,
		MaxOpenFiles:       256,
		FormatMajorVersion: engine.FormatNewest,
		Logger:             engineLogger{log},
		Lock:               lock,
	}
	eopts.Experimental.CompactionScheduler = newCompactionScheduler(100 * time.Millisecond)
	db, err := engine.Open(dir, eopts)
	if err != nil {
		lock.Close()
		return nil, openFailure(dir, err)
	}
	s := &Store{db: db, lock: lock, dir: dir, log: log, wsync: engine.Sync, stop: make(chan struct{})}
	s.bufs.New = func() any { return new([]byte) }
	if err := s.load(); err != nil {
		db.Close()
		lock.Close()
		return nil, openFailure(dir, err)
	}
	if opts.Sync == SyncBatch {
		s.wsync, s.batch = engine.NoSync, true
		s.wg.Add(1)
		go s.flushLoop(opts.SyncInterval)
	}
	return s, nil
}

// load checks the format record and reads the sequence reservation.
func (s *Store) load() error {
	v, closer, err := s.db.Get(keyFormat)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		if err := s.db.Set(keyFormat, []byte{formatVersion}, engine.Sync); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		ok := len(v) == 1 && v[0] == formatVersion
		got := append([]byte(nil), v...)
		closer.Close()
		if !ok {
			return fmt.Errorf("record %q holds format %v, this mqgate reads format %d", keyFormat, got, formatVersion)
		}
	}
	v, closer, err = s.db.Get(keySeq)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		s.nextSeq = 1
	case err != nil:
		return err
	default:
		if len(v) != 8 {
			closer.Close()
			return fmt.Errorf("record %q is corrupt", keySeq)
		}
		s.nextSeq = beUint64(v)
		closer.Close()
	}
	s.seqLimit = s.nextSeq
	return nil
}

// seq returns the next sequence number. Numbers are reserved on disk a
// block at a time, synced before any of them is handed out, so a number
// is never reused after a crash even if a later write became durable
// before an earlier one.
func (s *Store) seq() (uint64, error) {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if s.nextSeq >= s.seqLimit {
		limit := s.nextSeq + seqBlock
		if err := s.db.Set(keySeq, appendSeq(nil, limit), engine.Sync); err != nil {
			return 0, s.err(err)
		}
		s.seqLimit = limit
	}
	n := s.nextSeq
	s.nextSeq++
	return n, nil
}

func (s *Store) flushLoop(every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if s.dirty.Swap(false) {
				if err := s.flush(); err != nil {
					s.log.Error("store: periodic sync failed", "dir", s.dir, "err", err)
				}
			}
		}
	}
}

// writeOpts returns the write options of a write flagged sync or not.
func (s *Store) writeOpts(sync bool) *engine.WriteOptions {
	if !sync {
		return engine.NoSync
	}
	if s.batch {
		s.dirty.Store(true)
	}
	return s.wsync
}

func (s *Store) err(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store %s: %w", s.dir, err)
}

func (s *Store) corrupt(key []byte) error {
	return fmt.Errorf("store %s: corrupt record %q; move the directory aside to start afresh", s.dir, key)
}

func (s *Store) getBuf() *[]byte { return s.bufs.Get().(*[]byte) }

func (s *Store) putBuf(b *[]byte) {
	if cap(*b) > 64<<10 {
		return // do not pin the memory of one large message
	}
	*b = (*b)[:0]
	s.bufs.Put(b)
}

// set writes one value encoded by enc into a pooled buffer.
func (s *Store) set(key []byte, enc func([]byte) []byte, opts *engine.WriteOptions) error {
	b := s.getBuf()
	*b = enc((*b)[:0])
	err := s.db.Set(key, *b, opts)
	s.putBuf(b)
	return s.err(err)
}

// get returns a private copy of key's value, or store.ErrNotFound.
func (s *Store) get(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, engine.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, s.err(err)
	}
	c := append([]byte(nil), v...)
	closer.Close()
	return c, nil
}

func (s *Store) exists(key []byte) error {
	_, closer, err := s.db.Get(key)
	if errors.Is(err, engine.ErrNotFound) {
		return store.ErrNotFound
	}
	if err != nil {
		return s.err(err)
	}
	closer.Close()
	return nil
}

// scan calls fn with every key and value under prefix, from start if
// given; both are valid only during the call.
func (s *Store) scan(prefix, start []byte, fn func(k, v []byte) (bool, error)) error {
	it, err := s.db.NewIter(&engine.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return s.err(err)
	}
	var ok bool
	if start != nil {
		ok = it.SeekGE(start)
	} else {
		ok = it.First()
	}
	for ; ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return s.err(err)
		}
		more, err := fn(it.Key(), v)
		if err != nil || !more {
			it.Close()
			return err
		}
	}
	return s.err(it.Close())
}

func (s *Store) Sessions() store.Sessions { return sessions{s} }
func (s *Store) Queues() store.Queues     { return queues{s} }
func (s *Store) Inbound() store.Inbound   { return inbound{s} }
func (s *Store) Retained() store.Retained { return retained{s} }
func (s *Store) Outbox() store.Outbox     { return outbox{s} }

// Sync implements store.Store: it syncs the write-ahead log, which holds
// every write that returned before. In SyncBatch mode it is a sync-flagged
// write like the others: it returns at once and the background flush
// syncs within the interval.
func (s *Store) Sync() error {
	if s.batch {
		s.dirty.Store(true)
		return nil
	}
	return s.flush()
}

// flush syncs the write-ahead log.
func (s *Store) flush() error {
	start := time.Now()
	err := s.db.LogData(nil, engine.Sync)
	s.syncs.observe(time.Since(start))
	return s.err(err)
}

// Close syncs and closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		err := s.flush()
		if cerr := s.db.Close(); err == nil {
			err = s.err(cerr)
		}
		if cerr := s.lock.Close(); err == nil {
			err = s.err(cerr)
		}
		s.closeErr = err
	})
	return s.closeErr
}

// Expire implements store.Store.
func (s *Store) Expire(now time.Time) (store.ExpireStats, error) {
	var st store.ExpireStats
	var gone []store.Key
	err := s.scan([]byte{kindSession}, nil, func(k, v []byte) (bool, error) {
		var rec store.Session
		if !decodeSession(append([]byte(nil), v...), &rec) {
			return false, s.corrupt(k)
		}
		if at, ok := rec.ExpiresAt(); ok && !now.Before(at) {
			key, _, ok := parseSessionKey(k)
			if !ok {
				return false, s.corrupt(k)
			}
			gone = append(gone, key)
		}
		return true, nil
	})
	if err != nil {
		return st, err
	}
	for _, k := range gone {
		if err := s.deleteSession(k); err != nil {
			return st, err
		}
		st.Sessions++
	}

	// The retained expiry index is ordered by deadline: read up to now.
	b := s.db.NewBatch()
	defer b.Close()
	limit := appendSeq([]byte{kindRetainExpiry}, deadline(now)+1)
	err = s.scan([]byte{kindRetainExpiry}, nil, func(k, _ []byte) (bool, error) {
		if string(k) >= string(limit) {
			return false, nil
		}
		if len(k) < 9 {
			return false, s.corrupt(k)
		}
		dl := beUint64(k[1:9])
		rkey := append([]byte{kindRetained}, k[9:]...)
		if v, err := s.get(rkey); err == nil && retainedDeadline(v) == dl {
			if err := b.Delete(rkey, nil); err != nil {
				return false, err
			}
			st.Retained++
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
		return true, b.Delete(k, nil)
	})
	if err != nil {
		return st, err
	}
	return st, s.err(b.Commit(engine.NoSync))
}

func beUint64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// engineLogger sends Pebble's log to slog.
type engineLogger struct{ l *slog.Logger }

func (e engineLogger) Infof(format string, args ...any) {
	e.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (e engineLogger) Errorf(format string, args ...any) {
	e.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf is called by Pebble on an invariant violation it cannot continue
// from; it must not return.
func (e engineLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	e.l.Error(msg, "component", "pebble")
	panic("pebble: " + msg)
}
