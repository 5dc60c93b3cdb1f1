package fusefs

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"

	"freezer/control"
)

// The truth within seconds. The engine reports every change to the
// catalog — this process's at once, other processes' within its event
// interval, a job output's expiry at that moment — and the notifier turns
// each into an index update followed by kernel cache invalidations, so
// `ls -l` and `getfattr` show a new state without waiting for the cache
// timeouts: a changed archive's attributes (and cached bytes, when its
// local copy changed), an entry that appeared (dropping the kernel's
// memory of a failed lookup), or one that went (NotifyDelete, which also
// tells inotify watchers such as file managers). It runs on its own
// goroutine: the engine's event goroutine only queues the batch, and no
// lock is held while the kernel is told.

// onEvents is the engine subscriber: it queues and wakes the notifier.
func (f *filesystem) onEvents(evs []control.Event) {
	f.pendingMu.Lock()
	f.pending = append(f.pending, evs...)
	f.pendingMu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *filesystem) notifier() {
	defer f.wg.Done()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-f.wake:
		}
		f.pendingMu.Lock()
		evs := f.pending
		f.pending = nil
		f.pendingMu.Unlock()
		f.apply(evs)
	}
}

type archiveKey struct{ vault, name string }

// apply updates the index and the kernel's caches for a batch of events.
func (f *filesystem) apply(evs []control.Event) {
	vaults := map[string]bool{}
	archives := map[archiveKey]bool{}
	var order []archiveKey
	for _, ev := range evs {
		switch ev.Kind {
		case control.EventAll:
			f.invalidateEverything()
			return
		case control.EventVault:
			vaults[ev.Vault] = true
		case control.EventArchive:
			k := archiveKey{ev.Vault, ev.Archive}
			if ev.Archive == "" {
				f.idx.invalidateVault(ev.Vault)
				vaults[ev.Vault] = true
			} else if !archives[k] {
				archives[k] = true
				order = append(order, k)
			}
		}
	}
	if len(vaults) > 0 || len(archives) > 0 {
		// Vault figures (archives, size) follow their archives.
		f.vaultsChanged(vaults)
	}
	perVault := map[string]int{}
	for _, k := range order {
		perVault[k.vault]++
	}
	for _, k := range order {
		if perVault[k.vault] > manyChanges {
			continue
		}
		f.archiveChanged(k.vault, k.name)
	}
	for vault, n := range perVault {
		if n > manyChanges {
			f.manyArchivesChanged(vault, order)
		}
	}
}

// manyChanges is how many archives of one vault a batch may name before
// the vault's listing is read again whole rather than one archive at a
// time (an inventory applied, a big batch of requests).
const manyChanges = 64

// manyArchivesChanged drops a vault's listing and every named entry the
// kernel holds; the next look reads the listing again, once.
func (f *filesystem) manyArchivesChanged(vault string, changed []archiveKey) {
	f.idx.invalidateVault(vault)
	dir := f.root.GetChild(vault)
	if dir == nil {
		return
	}
	contents := dir.GetChild(control.ReservedArchiveName)
	for _, k := range changed {
		if k.vault != vault {
			continue
		}
		f.idx.forgetContents(vault, k.name)
		notifyGone(dir, k.name)
		if contents != nil {
			notifyGone(contents, k.name)
		}
	}
}

// vaultsChanged reloads the vault list and tells the kernel about vaults
// that appeared or went; the others' attributes are refreshed.
func (f *filesystem) vaultsChanged(names map[string]bool) {
	before, _ := f.idx.vaults.peek()
	f.idx.vaults.invalidate()
	after, err := f.idx.vaultList(f.ctx)
	if err != nil {
		f.log.Debug().Err(err).Msg("reloading the vault list")
		return
	}
	root := &f.root.Inode
	for name := range names {
		var was bool
		if before != nil {
			_, was = before.byName[name]
		}
		_, is := after.byName[name]
		child := root.GetChild(name)
		switch {
		case was && !is && child != nil:
			root.NotifyDelete(name, child)
		case was != is:
			root.NotifyEntry(name)
		case child != nil:
			child.NotifyContent(-1, 0) // attributes only
		}
	}
}

// archiveChanged reads one archive again and tells the kernel.
func (f *filesystem) archiveChanged(vault, name string) {
	now, before, err := f.idx.refreshArchive(f.ctx, vault, name)
	if err != nil {
		f.log.Debug().Err(err).Str("vault", vault).Str("archive", name).Msg("reloading an archive")
		return
	}
	dir := f.root.GetChild(vault)
	if dir == nil {
		return // the kernel knows nothing of this vault's folder
	}
	child := dir.GetChild(name)
	switch {
	case now == nil && child != nil:
		dir.NotifyDelete(name, child)
	case now == nil:
	case before == nil || child == nil || child.StableAttr().Ino != archiveIno(vault, name, now.ID):
		dir.NotifyEntry(name)
	case before.LocalPath != now.LocalPath:
		child.NotifyContent(0, 0) // attributes, and bytes cached from another copy
	default:
		child.NotifyContent(-1, 0) // attributes only
	}
	if contents := dir.GetChild(control.ReservedArchiveName); contents != nil {
		if now == nil || before == nil || now.ID != before.ID || now.FileCount != before.FileCount {
			notifyGone(contents, name)
		}
	}
}

// notifyGone drops a name from the kernel's cache, as deleted when it is
// known.
func notifyGone(dir *fs.Inode, name string) syscall.Errno {
	if child := dir.GetChild(name); child != nil {
		return dir.NotifyDelete(name, child)
	}
	return dir.NotifyEntry(name)
}

// invalidateEverything follows an event that says anything may have
// changed: every listing is dropped, and so is every vault entry the
// kernel holds.
func (f *filesystem) invalidateEverything() {
	f.idx.invalidateAll()
	root := &f.root.Inode
	for name := range root.Children() {
		if name != control.ControlDir {
			root.NotifyEntry(name)
		}
	}
}
