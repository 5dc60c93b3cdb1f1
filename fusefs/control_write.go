package fusefs

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"freezer/control"
)

// Control files (Plan 9's ctl files): one write(2) holds one or more
// lines (less than 1 MiB); all are parsed and checked before any runs, and a malformed or
// refused line fails the whole write with the errno of its kind (so `echo
// bad > .control/retrieve` exits non-zero) and runs nothing. A line that
// passed its check but then failed (Glacier refused, the network failed)
// fails the write too, after the others ran. Either way the reply is kept
// with the open file: a read on the same descriptor returns one line per
// request — `ok task=ID`, `ok` with what was learnt, an answer such as the
// plan's JSON — or `error: MESSAGE`. Every refusal also goes to the error
// log (.control/errors). Before any write, a read shows what the file
// takes (or, for settings, the settings in effect).

// ctlFileNode is one file of .control (or keys/import).
type ctlFileNode struct {
	fs.Inode
	fs   *filesystem
	file *ctlFile
	ino  uint64
}

func (f *filesystem) newCtlFile(ctx context.Context, parent *fs.Inode, c *ctlFile, ino uint64, out *fuse.EntryOut) *fs.Inode {
	f.fileAttr(&out.Attr, ino, c.mode, 0, f.start)
	return parent.NewInode(ctx, &ctlFileNode{fs: f, file: c, ino: ino}, fs.StableAttr{Mode: syscall.S_IFREG, Ino: ino})
}

// Getattr: size 0 — the files have no stable size; they are opened with
// FOPEN_DIRECT_IO, so reads go on until the end all the same.
func (n *ctlFileNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fs.fileAttr(&out.Attr, n.ino, n.file.mode, 0, n.fs.start)
	return 0
}

// Setattr accepts a truncation to size 0 (and new times), which is how the
// shell's `>` redirect opens a file; any other change is refused.
func (n *ctlFileNode) Setattr(ctx context.Context, _ fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if !n.file.writable {
		return syscall.EPERM
	}
	if sz, ok := in.GetSize(); ok && sz != 0 {
		return syscall.EPERM
	}
	if _, ok := in.GetMode(); ok {
		return syscall.EPERM
	}
	if _, ok := in.GetUID(); ok {
		return syscall.EPERM
	}
	if _, ok := in.GetGID(); ok {
		return syscall.EPERM
	}
	n.fs.fileAttr(&out.Attr, n.ino, n.file.mode, 0, n.fs.start)
	return 0
}

func (n *ctlFileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if !n.file.writable && !readOnly(flags) {
		return nil, 0, syscall.EPERM
	}
	h := &ctlHandle{fs: n.fs, file: n.file}
	if n.file.snapshot != nil {
		data, err := n.file.snapshot(ctx, n.fs)
		if err != nil {
			return nil, 0, errno(err)
		}
		h.reply = data
	} else {
		h.reply = []byte(usage(n.file))
	}
	return h, fuse.FOPEN_DIRECT_IO, 0
}

// usage is what a control file shows before a write.
func usage(c *ctlFile) string {
	switch c.verb {
	case "":
		return "# write control-protocol lines here, for example: retrieve photos/holiday-2024 tier=Bulk\n" + control.Usage()
	case "key import":
		return "# write a key's JSON here, as keys/ID.json or 'freezer key export' give it\n"
	}
	return "# write lines for " + c.verb + " here; the verb may be left out:\n" + control.VerbUsage(c.verb) + "\n"
}

func (n *ctlFileNode) Getxattr(_ context.Context, name string, dest []byte) (uint32, syscall.Errno) {
	return getXattr(nil, name, dest)
}
func (n *ctlFileNode) Listxattr(_ context.Context, dest []byte) (uint32, syscall.Errno) {
	return listXattr(nil, dest)
}
func (n *ctlFileNode) Setxattr(context.Context, string, []byte, uint32) syscall.Errno {
	return syscall.EPERM
}
func (n *ctlFileNode) Removexattr(context.Context, string) syscall.Errno { return syscall.EPERM }

// maxControlWrite is the largest write the kernel hands over whole (the
// mount's max_write).
const maxControlWrite = 1 << 20

// ctlHandle is an open control file: what a read returns (a snapshot, the
// usage, or the reply to the last write) and where it starts. A write
// moves the descriptor's offset past the written bytes, so the reply to a
// write that ended at offset N is served from N on: a read right after the
// write (a script's `read`, a program's Read) sees it from its start.
type ctlHandle struct {
	fs   *filesystem
	file *ctlFile

	mu      sync.Mutex
	reply   []byte
	base    int64  // the offset the reply starts at
	pending []byte // an unfinished last line, waiting for the rest
}

func (h *ctlHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := max(off-h.base, 0)
	if i >= int64(len(h.reply)) {
		return fuse.ReadResultData(nil), 0
	}
	end := min(i+int64(len(dest)), int64(len(h.reply)))
	return fuse.ReadResultData(append(dest[:0], h.reply[i:end]...)), 0
}

func (h *ctlHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if !h.file.writable {
		return 0, syscall.EPERM
	}
	if len(data) >= maxControlWrite {
		// The kernel splits a longer write(2) into pieces of this size:
		// refuse rather than run part of it.
		err := refusal{control.ErrInvalid, fmt.Sprintf("a write to a control file holds less than %d bytes; write fewer lines at a time", maxControlWrite)}
		h.fs.eng.LogRefusal(h.file.name+": (a write of "+strconv.Itoa(len(data))+" bytes or more)", err)
		h.setReply(errorLine(err), off)
		return 0, errno(err)
	}
	text, ok := h.complete(data)
	if !ok {
		return uint32(len(data)), 0 // the start of a line: the rest follows
	}
	reply, err := h.run(ctx, text)
	if err != nil {
		h.setReply(reply, off) // a failed write leaves the offset where it was
		return 0, errno(err)
	}
	h.setReply(reply, off+int64(len(data)))
	return uint32(len(data)), 0
}

// complete joins a write to what an earlier one left unfinished and
// returns the text to run now. A program that writes a batch through a
// pipe or from a file (cat) hands it over in pieces of whole pages, which
// may cut a line in two: when a write of whole pages does not end with a
// newline, its last, unfinished line waits for the next write (or the
// close). A key's JSON waits whole. Any other write runs as it is, with or
// without a final newline.
func (h *ctlHandle) complete(data []byte) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	text := append(h.pending, data...)
	h.pending = nil
	n := len(text)
	if n == 0 || text[n-1] == '\n' || len(data)%4096 != 0 || n >= maxControlWrite {
		return text, true
	}
	if h.file.verb == "key import" {
		h.pending = text
		return nil, false
	}
	i := bytes.LastIndexByte(text, '\n')
	h.pending = append([]byte(nil), text[i+1:]...)
	if i < 0 {
		return nil, false
	}
	return text[:i+1], true
}

// Flush runs what a write left unfinished when the file is closed; a
// failure fails close(2).
func (h *ctlHandle) Flush(ctx context.Context) syscall.Errno {
	h.mu.Lock()
	text := h.pending
	h.pending = nil
	h.mu.Unlock()
	if len(text) == 0 {
		return 0
	}
	reply, err := h.run(ctx, text)
	h.setReply(reply, 0)
	return errno(err)
}

func (h *ctlHandle) setReply(reply string, base int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reply, h.base = []byte(reply), base
}

// run carries out one write: the reply text, and the error that fails the
// write (the refusal, or the first failure after the check).
func (h *ctlHandle) run(ctx context.Context, data []byte) (string, error) {
	var reqs []control.Request
	if h.file.verb == "key import" {
		reqs = []control.Request{&control.KeyImportRequest{JSON: data}}
	} else {
		var err error
		reqs, err = control.Parse(string(data), control.ParseOptions{Verb: h.file.verb, Mount: h.fs.o.Mountpoint})
		if err != nil {
			h.fs.eng.LogRefusal(refusalLine(h.file, string(data)), err)
			return errorLine(err), err
		}
	}
	reps, err := h.fs.eng.Do(ctx, reqs...)
	if err != nil {
		return errorLine(err), err
	}
	h.fs.reread(ctx, reqs)
	var b strings.Builder
	var first error
	for _, r := range reps {
		b.WriteString(r.Line())
		b.WriteByte('\n')
		if r.Err != nil && first == nil {
			first = r.Err
		}
	}
	return b.String(), first
}

// reread brings the index up to date with what requests just did, so that
// a script that writes `retrieve` and then reads the archive's state sees
// melting, not the state before. (The engine's events follow a moment
// later and invalidate the kernel's caches; that is not done here, inside
// a handler.)
func (f *filesystem) reread(ctx context.Context, reqs []control.Request) {
	for _, r := range reqs {
		vault, archive := control.Target(r)
		switch {
		case archive != "":
			f.idx.refreshArchive(ctx, vault, archive)
			f.idx.vaults.invalidate()
		case vault != "":
			f.idx.vaults.invalidate()
			f.idx.invalidateVault(vault)
		}
	}
}

// errorLine is a refusal as the reply gives it, with the line that would
// fix it when the engine knows one.
func errorLine(err error) string {
	msg := "error: " + strings.Join(strings.Fields(err.Error()), " ")
	if hint := control.Hint(err); hint != "" {
		msg += " (write: " + hint + ")"
	}
	return msg + "\n"
}

// refusalLine is what the error log records of a write that did not
// parse: the lines as written, one after another, cut short; anything
// after the name of a secret setting, or after json= (a key), is left
// out.
func refusalLine(c *ctlFile, text string) string {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		for _, s := range control.Settings() {
			if !s.Secret {
				continue
			}
			if i := strings.Index(l, s.Key); i >= 0 {
				l = l[:i+len(s.Key)] + " …"
			}
		}
		if i := strings.Index(l, "json="); i >= 0 {
			l = l[:i+len("json=")] + "…" // a key's JSON holds the key
		}
		if c.verb != "" && c.verb != "settings" && !strings.HasPrefix(l, c.verb) {
			l = c.verb + " " + l
		}
		if c.verb == "settings" {
			l = "settings " + l
		}
		lines = append(lines, l)
	}
	out := strings.Join(lines, "; ")
	if len(out) > 500 {
		out = out[:500] + "…"
	}
	return out
}

func (n *ctlFileNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fs.statfs(out)
}
