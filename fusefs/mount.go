package fusefs

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rs/zerolog"

	"freezer/control"
)

// Options configure a mount.
type Options struct {
	// Mountpoint is the directory to mount on (PrepareMountpoint checks
	// it first).
	Mountpoint string
	// DataDir is the folder of local archive files: statfs reports its
	// space, which is where retrievals land.
	DataDir string
	// RefreshInterval is how often the vault list and jobs are refreshed
	// from Glacier in the background (the engine rate-limits refreshes
	// across processes too). Listing the root asks for one sooner.
	// Default 1 min.
	RefreshInterval time.Duration
	// CacheTimeout is how long the kernel may keep a vault's or an
	// archive's entry and attributes (events invalidate them at once).
	// Default 10 s.
	CacheTimeout time.Duration
	// NegativeTimeout is how long the kernel remembers that a name does
	// not exist (file managers probe many). Default 10 s.
	NegativeTimeout time.Duration
	// Strict mounts with mount(2) only, never fusermount (tests).
	Strict bool
	// Debug logs every FUSE request.
	Debug  bool
	Logger zerolog.Logger
}

// filesystem is what every node shares.
type filesystem struct {
	eng   Engine
	o     Options
	log   zerolog.Logger
	idx   *index
	uid   uint32
	gid   uint32
	start time.Time

	root *rootNode

	// ctx lives as long as the mount: background work runs on it, never
	// on a request's context (go-fuse cancels that on any signal).
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	refreshPoke chan bool // true: a forced refresh (a vault was just made)

	pendingMu sync.Mutex
	pending   []control.Event
	wake      chan struct{}
}

// Server is a mounted filesystem.
type Server struct {
	fs    *filesystem
	srv   *fuse.Server
	unsub func()
	once  sync.Once
}

// Mount mounts the catalog of eng at o.Mountpoint and serves it until
// unmounted (Unmount, `freezer unmount`, fusermount -u). It tries
// mount(2) first (root) and falls back to fusermount. The mount is
// private: only the user who mounted it can enter it.
func Mount(eng Engine, o Options) (*Server, error) {
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = time.Minute
	}
	if o.CacheTimeout <= 0 {
		o.CacheTimeout = 10 * time.Second
	}
	if o.NegativeTimeout <= 0 {
		o.NegativeTimeout = 10 * time.Second
	}
	dir, err := filepath.Abs(o.Mountpoint)
	if err != nil {
		return nil, err
	}
	o.Mountpoint = dir
	ctx, cancel := context.WithCancel(context.Background())
	f := &filesystem{
		eng: eng, o: o, log: o.Logger, idx: newIndex(eng),
		uid: uint32(os.Getuid()), gid: uint32(os.Getgid()), start: time.Now(),
		ctx: ctx, cancel: cancel,
		refreshPoke: make(chan bool, 1),
		wake:        make(chan struct{}, 1),
	}
	f.root = &rootNode{fs: f}
	cacheTTL, negTTL := o.CacheTimeout, o.NegativeTimeout
	opts := &fs.Options{
		MountOptions: fuse.MountOptions{
			FsName:            "freezer",
			Name:              "freezer",
			DirectMount:       true,
			DirectMountStrict: o.Strict,
			// Control writes of a whole batch arrive as one write; large
			// reads of local archives need fewer round trips.
			MaxWrite:     maxControlWrite,
			MaxReadAhead: 1 << 20,
			// Security labels and ACLs are answered by the nodes (ENOTSUP:
			// not supported here), not by go-fuse's ENODATA, after which
			// `ls -l` would keep asking every file (see otherXattr).
			IgnoreSecurityLabels: false,
			Debug:                o.Debug,
			Logger:               log.New(o.Logger, "", 0),
		},
		EntryTimeout:    &cacheTTL,
		AttrTimeout:     &cacheTTL,
		NegativeTimeout: &negTTL,
		UID:             f.uid,
		GID:             f.gid,
		RootStableAttr:  &fs.StableAttr{Ino: 1},
		Logger:          log.New(o.Logger, "", 0),
	}
	srv, err := fs.Mount(dir, f.root, opts)
	if err != nil {
		cancel()
		return nil, mountError(dir, err)
	}
	s := &Server{fs: f, srv: srv}
	s.unsub = eng.Subscribe(f.onEvents)
	f.wg.Add(2)
	go f.notifier()
	go f.refresher()
	f.log.Info().Str("mountpoint", dir).Msg("mounted")
	return s, nil
}

func mountError(dir string, err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("mounting %s: %w (as a normal user freezer needs fusermount3: install the Debian package fuse3)", dir, err)
	}
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("mounting %s: %w (is /dev/fuse there, and fusermount3 installed? Debian package fuse3)", dir, err)
	}
	return fmt.Errorf("mounting %s: %w", dir, err)
}

// Wait returns once the filesystem is unmounted (by Unmount, or from
// outside).
func (s *Server) Wait() { s.srv.Wait() }

// Unmount unmounts the filesystem. A mount still in use (a shell's working
// folder inside it, an open file) is busy: after a few tries it is
// detached lazily (it disappears from the namespace now and is served
// until its last user lets go). Background work stops.
func (s *Server) Unmount() error {
	err := s.srv.Unmount()
	if err != nil {
		s.fs.log.Warn().Err(err).Msg("the mount is busy (a process has a file open or its working folder inside it); detaching it lazily")
		if lerr := unmountLazy(s.fs.o.Mountpoint); lerr != nil {
			return fmt.Errorf("unmounting %s: %w; then lazily: %v", s.fs.o.Mountpoint, err, lerr)
		}
	}
	return nil
}

// Close stops the background work (the notifier and the refresher); call
// it after Wait returned, before closing the engine.
func (s *Server) Close() {
	s.once.Do(func() {
		s.unsub()
		s.fs.cancel()
		s.fs.wg.Wait()
	})
}

// refresher refreshes the vault list from Glacier in the background:
// every RefreshInterval, and soon after the root is listed. The engine
// rate-limits it; a handler only pokes it and never waits.
func (f *filesystem) refresher() {
	defer f.wg.Done()
	t := time.NewTicker(f.o.RefreshInterval)
	defer t.Stop()
	var lastWarn time.Time
	force := false
	for {
		if err := f.eng.Refresh(f.ctx, force); err != nil && f.ctx.Err() == nil {
			if time.Since(lastWarn) > 10*time.Minute {
				f.log.Warn().Err(err).Msg("could not refresh the vault list from Glacier; showing the catalog as it is")
				lastWarn = time.Now()
			}
		}
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
			force = false
		case force = <-f.refreshPoke:
		}
	}
}

// pokeRefresh asks the refresher for a refresh (forced: even if one ran a
// moment ago), without waiting.
func (f *filesystem) pokeRefresh(force bool) {
	select {
	case f.refreshPoke <- force:
	default:
	}
}

// statfs reports the space of the folder local archive copies live in:
// what a retrieval can fill, which file managers show as free space. Every
// folder answers it (go-fuse would report zeros for one that does not).
func (f *filesystem) statfs(out *fuse.StatfsOut) syscall.Errno {
	out.NameLen = 255
	out.Bsize = 4096
	out.Frsize = 4096
	if f.o.DataDir == "" {
		return 0
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(f.o.DataDir, &st); err != nil {
		return 0 // a missing data folder is no reason to fail df
	}
	out.Blocks, out.Bfree, out.Bavail = st.Blocks, st.Bfree, st.Bavail
	out.Files, out.Ffree = st.Files, st.Ffree
	out.Bsize, out.Frsize = uint32(st.Bsize), uint32(st.Frsize)
	return 0
}

// dots are the "." and ".." entries every folder lists first.
func dots(self, parent uint64) []fuse.DirEntry {
	return []fuse.DirEntry{{Name: ".", Mode: syscall.S_IFDIR, Ino: self}, {Name: "..", Mode: syscall.S_IFDIR, Ino: parent}}
}

// dirAttr fills a folder's attributes.
func (f *filesystem) dirAttr(a *fuse.Attr, ino uint64, nlink uint32, mode uint32, mtime time.Time) {
	if mtime.IsZero() {
		mtime = f.start
	}
	a.Ino = ino
	a.Mode = syscall.S_IFDIR | mode
	a.Nlink = nlink
	a.Size = 4096
	a.Uid, a.Gid = f.uid, f.gid
	a.SetTimes(nil, &mtime, &mtime)
}

// fileAttr fills a file's attributes.
func (f *filesystem) fileAttr(a *fuse.Attr, ino uint64, mode uint32, size int64, mtime time.Time) {
	if mtime.IsZero() {
		mtime = f.start
	}
	a.Ino = ino
	a.Mode = syscall.S_IFREG | mode
	a.Nlink = 1
	a.Size = uint64(max(size, 0))
	a.Blocks = (a.Size + 511) / 512
	a.Uid, a.Gid = f.uid, f.gid
	a.SetTimes(nil, &mtime, &mtime)
}
