package mountctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"freezer/control"
	"freezer/filter"
)

// maxReply bounds what a reply or snapshot may hold (a plan of a few
// hundred thousand files is tens of MiB).
const maxReply = 512 << 20

// Files drives the freezer mounted at Mount through its control files.
// Its methods are safe for concurrent use; each blocks until the mount
// answers or ctx ends (the I/O itself then finishes in the background,
// since a read or write on a FUSE file cannot be called back).
type Files struct {
	Mount string
}

func (f Files) ctl(name string) string { return filepath.Join(f.Mount, ".control", name) }

// Check says whether a freezer is mounted at f.Mount, in words a person
// can act on.
func (f Files) Check() error {
	_, err := os.Stat(f.ctl("status.json"))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOTCONN):
		return fmt.Errorf("the freezer mount at %s is not connected (its process ended): unmount it (umount %s) and mount it again with freezer mount %s", f.Mount, f.Mount, f.Mount)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no freezer is mounted at %s: start one with freezer mount %s, or pass --mount DIR", f.Mount, f.Mount)
	}
	return fmt.Errorf("cannot read the freezer mount at %s: %w", f.Mount, err)
}

// async runs fn off the caller's goroutine and waits for it or for ctx.
func async[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// request writes body to a control file in one write(2) and reads the
// reply on the same descriptor. A refused write becomes an *Error holding
// the errno and the reply's message.
func (f Files) request(ctx context.Context, file, body string) (string, error) {
	return async(ctx, func() (string, error) {
		h, err := os.OpenFile(f.ctl(file), os.O_RDWR, 0)
		if err != nil {
			return "", f.openError(file, err)
		}
		defer h.Close()
		if !strings.HasSuffix(body, "\n") {
			body += "\n"
		}
		_, werr := h.Write([]byte(body))
		reply, rerr := io.ReadAll(io.LimitReader(h, maxReply))
		if werr != nil {
			e := &Error{File: file}
			errors.As(werr, &e.Errno)
			if msg, ok := strings.CutPrefix(strings.TrimSpace(string(reply)), "error:"); ok {
				e.Message = strings.TrimSpace(msg)
			}
			return "", e
		}
		if rerr != nil {
			return "", fmt.Errorf("reading the reply of .control/%s: %w", file, rerr)
		}
		return string(reply), nil
	})
}

func (f Files) openError(file string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTCONN) {
		if cerr := f.Check(); cerr != nil {
			return cerr
		}
	}
	return fmt.Errorf(".control/%s: %w", file, err)
}

// read reads a snapshot file (status.json, settings.json, keys/ID.json).
func (f Files) read(ctx context.Context, file string) ([]byte, error) {
	return async(ctx, func() ([]byte, error) {
		h, err := os.Open(f.ctl(file))
		if err != nil {
			return nil, f.openError(file, err)
		}
		defer h.Close()
		b, err := io.ReadAll(io.LimitReader(h, maxReply))
		if err != nil {
			return nil, fmt.Errorf("reading .control/%s: %w", file, err)
		}
		return b, nil
	})
}

// Plan asks the mount for the selection plan of s.
func (f Files) Plan(ctx context.Context, s Selection) (*filter.Document, error) {
	reply, err := f.request(ctx, "plan", PlanLine(s))
	if err != nil {
		return nil, err
	}
	if msg, ok := strings.CutPrefix(strings.TrimSpace(reply), "error:"); ok {
		return nil, &Error{File: "plan", Message: strings.TrimSpace(msg)}
	}
	return filter.ReadDocument(strings.NewReader(reply))
}

// NewArchive starts creating an archive and returns its task.
func (f Files) NewArchive(ctx context.Context, r NewArchive) (int64, error) {
	reply, err := f.request(ctx, "new-archive", NewArchiveLine(r))
	if err != nil {
		return 0, err
	}
	fields, err := parseOK("new-archive", reply)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(fields["task"], 10, 64)
	if err != nil {
		return 0, &Error{File: "new-archive", Message: fmt.Sprintf("the reply names no task: %q", strings.TrimSpace(reply))}
	}
	return id, nil
}

// Status reads the tasks of every process.
func (f Files) Status(ctx context.Context) (control.StatusJSON, error) {
	var s control.StatusJSON
	b, err := f.read(ctx, "status.json")
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf(".control/status.json: %w", err)
	}
	return s, nil
}

// Task reads one task from the status snapshot.
func (f Files) Task(ctx context.Context, id int64) (control.TaskJSON, error) {
	s, err := f.Status(ctx)
	if err != nil {
		return control.TaskJSON{}, err
	}
	for _, t := range s.Tasks {
		if t.ID == id {
			return t, nil
		}
	}
	return control.TaskJSON{}, fmt.Errorf("task %d is not in .control/status.json", id)
}

// Settings reads the settings in effect (secrets redacted) and the
// exclusion lists.
func (f Files) Settings(ctx context.Context) (control.SettingsJSON, error) {
	var s control.SettingsJSON
	b, err := f.read(ctx, "settings.json")
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf(".control/settings.json: %w", err)
	}
	return s, nil
}

// SetSettings writes settings lines (SettingLine) in one request: all are
// checked before any is stored.
func (f Files) SetSettings(ctx context.Context, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	reply, err := f.request(ctx, "settings", strings.Join(lines, "\n"))
	if err == nil {
		_, err = parseOK("settings", reply)
	}
	return err
}

// Ctl writes lines to .control/ctl (exclusions, key default, vault create).
func (f Files) Ctl(ctx context.Context, lines ...string) error {
	reply, err := f.request(ctx, "ctl", strings.Join(lines, "\n"))
	if err == nil {
		_, err = parseOK("ctl", reply)
	}
	return err
}

// Vaults lists the vaults: the mount's directories.
func (f Files) Vaults(ctx context.Context) ([]string, error) {
	return async(ctx, func() ([]string, error) {
		ents, err := os.ReadDir(f.Mount)
		if err != nil {
			if cerr := f.Check(); cerr != nil {
				return nil, cerr
			}
			return nil, err
		}
		var out []string
		for _, e := range ents {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				out = append(out, e.Name())
			}
		}
		sort.Strings(out)
		return out, nil
	})
}

// CreateVault creates a vault.
func (f Files) CreateVault(ctx context.Context, name string) error {
	return f.Ctl(ctx, "vault create "+control.Quote(name))
}

// keyDoc is the part of a key's export the helper keeps: never the key.
type keyDoc struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Algorithm string `json:"algorithm"`
	Created   string `json:"created"`
}

// Keys lists the keys. It reads each key's export for its name and
// algorithm and keeps nothing of the material.
func (f Files) Keys(ctx context.Context) ([]Key, error) {
	ents, err := async(ctx, func() ([]os.DirEntry, error) { return os.ReadDir(f.ctl("keys")) })
	if err != nil {
		return nil, f.openError("keys", err)
	}
	var out []Key
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		b, err := f.read(ctx, "keys/"+e.Name())
		if err != nil {
			return nil, err
		}
		var d keyDoc
		err = json.Unmarshal(b, &d)
		clear(b)
		if err != nil {
			return nil, fmt.Errorf(".control/keys/%s: %w", e.Name(), err)
		}
		if d.ID == "" {
			d.ID = id
		}
		def := getxattr(f.ctl("keys/"+e.Name()), "user.freezer.default") == "yes"
		out = append(out, Key{ID: d.ID, Name: d.Name, Algorithm: d.Algorithm, Created: d.Created, Default: def})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created < out[j].Created })
	return out, nil
}

// KeyJSON reads a key's export, material included: only for a person who
// asked to see it.
func (f Files) KeyJSON(ctx context.Context, id string) ([]byte, error) {
	if id == "" || strings.ContainsAny(id, "/\x00") {
		return nil, fmt.Errorf("no such key %q", id)
	}
	return f.read(ctx, "keys/"+id+".json")
}

// NewKey creates a key and returns its id.
func (f Files) NewKey(ctx context.Context, algorithm, name string) (string, error) {
	body := NewKeyLine(algorithm, name)
	if body == "" {
		body = "new-key"
	}
	reply, err := f.request(ctx, "new-key", body)
	if err != nil {
		return "", err
	}
	fields, err := parseOK("new-key", reply)
	if err != nil {
		return "", err
	}
	return fields["key"], nil
}

// ImportKey imports a key's JSON and returns its id.
func (f Files) ImportKey(ctx context.Context, data []byte) (string, error) {
	reply, err := f.request(ctx, "keys/import", string(data))
	if err != nil {
		return "", err
	}
	fields, err := parseOK("keys/import", reply)
	if err != nil {
		return "", err
	}
	return fields["key"], nil
}

// Archive reads an existing archive: its xattrs and its contents.
func (f Files) Archive(ctx context.Context, vault, name string) (Archive, error) {
	return async(ctx, func() (Archive, error) {
		a := Archive{Vault: vault, Name: name}
		p := filepath.Join(f.Mount, vault, name)
		if _, err := os.Stat(p); err != nil {
			if cerr := f.Check(); cerr != nil {
				return a, cerr
			}
			return a, fmt.Errorf("archive %s/%s: %w", vault, name, unwrapPath(err))
		}
		str := func(attr string) string { return getxattr(p, "user.freezer."+attr) }
		num := func(attr string) int64 { n, _ := strconv.ParseInt(str(attr), 10, 64); return n }
		a.State, a.Description, a.Compression = str("state"), str("description"), str("compression")
		a.Encryption, a.Key, a.Created, a.ArchiveID = str("encryption"), str("key"), str("created"), str("archive-id")
		a.Size, a.Files = num("size"), num("files")
		root := filepath.Join(f.Mount, vault, ".contents", name)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path == root {
				return nil
			}
			rel, _ := filepath.Rel(root, path)
			fi := File{Path: rel, Dir: d.IsDir()}
			if info, err := d.Info(); err == nil && !d.IsDir() {
				fi.Size = info.Size()
			}
			a.Contents = append(a.Contents, fi)
			return nil
		})
		if err != nil {
			return a, fmt.Errorf("the contents of %s/%s: %w", vault, name, unwrapPath(err))
		}
		return a, nil
	})
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// getxattr reads one extended attribute; "" when absent or unreadable.
func getxattr(path, name string) string {
	buf := make([]byte, 1024)
	for {
		n, err := syscall.Getxattr(path, name, buf)
		if errors.Is(err, syscall.ERANGE) && len(buf) < 1<<20 {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if err != nil {
			return ""
		}
		return string(buf[:n])
	}
}
