package conf

import "time"

// StorageConfig says where mqgate keeps persistent sessions, their queues
// and retained messages (core/store).
type StorageConfig struct {
	// Type is disk (the durable store in Dir, the default) or memory
	// (nothing survives a restart).
	Type string `yaml:"type"`
	Dir  string `yaml:"dir"`
	// Sync is always (a QoS 1/2 message is flushed to the device before it
	// is acknowledged) or batch (flushed within SyncInterval; a power cut
	// may lose what was acknowledged in the last interval).
	Sync         string   `yaml:"sync"`
	SyncInterval Duration `yaml:"sync_interval"`
	// CacheSize is the block cache and MemtableSize the write buffer of
	// the disk store, sized for a Raspberry Pi.
	CacheSize    Size `yaml:"cache_size"`
	MemtableSize Size `yaml:"memtable_size"`
}

func defaultStorage() StorageConfig {
	return StorageConfig{
		Type:         "disk",
		Dir:          "./data",
		Sync:         "always",
		SyncInterval: Duration(100 * time.Millisecond),
		CacheSize:    8 << 20,
		MemtableSize: 4 << 20,
	}
}

func (c *Config) validateStorage(bad func(key, format string, args ...any)) {
	s := &c.Storage
	switch s.Type {
	case "disk":
		if s.Dir == "" {
			bad("storage.dir", "must name a directory when storage.type is disk")
		}
	case "memory":
	default:
		bad("storage.type", "%q is not one of: disk, memory", s.Type)
	}
	switch s.Sync {
	case "always", "batch":
	default:
		bad("storage.sync", "%q is not one of: always, batch", s.Sync)
	}
	if s.SyncInterval <= 0 {
		bad("storage.sync_interval", "must be positive, e.g. 100ms")
	}
	if s.CacheSize < 1<<20 {
		bad("storage.cache_size", "must be at least 1MiB")
	}
	if s.MemtableSize < 1<<20 || s.MemtableSize > 1<<30 {
		bad("storage.memtable_size", "must be between 1MiB and 1GiB")
	}
}
