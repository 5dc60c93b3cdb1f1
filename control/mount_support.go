package control

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"freezer/pipeline/compress"
)

// What a front end that serves files (the mount) needs beyond requests and
// the read view: a way to log refusals it finds itself, a streamed view of
// one file inside a local copy, and the file list as a document.

// LogRefusal appends a refusal the front end found before Do (a line that
// does not parse) to the catalog's error log, as Do does for the ones it
// finds. line is what was asked, already stripped of anything secret.
func (e *Engine) LogRefusal(line string, err error) { e.logError(line, err) }

// Target names what a request acts on: a vault and an archive in it, a
// vault alone (archive ""), or nothing ("", "") for requests about keys,
// settings and plans. A front end that shows the catalog (the mount)
// reads these again once Do returns, so that what a person just did shows
// at once.
func Target(r Request) (vault, archive string) {
	switch r := r.(type) {
	case *CreateRequest:
		return r.Vault, r.Name
	case *UploadRequest:
		return r.Vault, r.Name
	case *CancelRequest:
		return r.Vault, r.Name
	case *RetrieveRequest:
		return r.Vault, r.Name
	case *DisconnectRequest:
		return r.Vault, r.Name
	case *RemoveRequest:
		return r.Vault, r.Name
	case *ExtractRequest:
		return r.Vault, r.Name
	case *InventoryRequest:
		return r.Vault, ""
	case *VaultCreateRequest:
		return r.Name, ""
	case *VaultRemoveRequest:
		return r.Name, ""
	}
	return "", ""
}

// OpenArchiveMember opens the file stored at member inside an archive's
// local copy and returns its bytes, decompressed, as a stream. It reads
// only local files (never the catalog or the network); info is the
// archive as the caller last read it. An archive without a local copy is
// refused with ErrRemote; a member the copy does not hold with
// ErrNotFound. A member stored as a hard link returns the contents of the
// entry it links to. Skipping to a member far into a large archive reads
// and decompresses everything before it.
func OpenArchiveMember(info ArchiveInfo, member string) (io.ReadCloser, error) {
	what := fmt.Sprintf("vault %s: archive %s", info.Vault, info.Name)
	if !info.Local || info.LocalPath == "" {
		return nil, withHint(refuse(ErrRemote, "%s is %s: it has no local copy; retrieve it first", what, info.State),
			line([]string{"retrieve", info.Vault + "/" + info.Name}))
	}
	want := cleanMember(member)
	// A hard link's data is the earlier entry's: look once more for it.
	for range 2 {
		r, link, err := findMember(info, want)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", what, member, err)
		}
		if r != nil {
			return r, nil
		}
		want = link
	}
	return nil, refuse(ErrNotFound, "%s: %s is a hard link to a link", what, member)
}

// findMember scans the local copy for want: the open entry, or the target
// of a hard link.
func findMember(info ArchiveInfo, want string) (io.ReadCloser, string, error) {
	f, err := os.Open(info.LocalPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", refuse(ErrRemote, "the local copy is gone (disconnected meanwhile); retrieve it first")
	}
	if err != nil {
		return nil, "", err
	}
	var zr io.ReadCloser
	if info.Compression == CompressionUnknown || info.Compression == "" {
		zr, _, err = compress.NewDetectingReader(f)
	} else {
		var alg compress.Algorithm
		if alg, err = compress.Parse(info.Compression); err == nil {
			zr, err = compress.NewReader(f, alg)
		}
	}
	if err != nil {
		f.Close()
		return nil, "", err
	}
	closeAll := func() { zr.Close(); f.Close() }
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			closeAll()
			return nil, "", refuse(ErrNotFound, "not in the local copy")
		}
		if err != nil {
			closeAll()
			return nil, "", fmt.Errorf("reading the local copy: %w", err)
		}
		if cleanMember(hdr.Name) != want {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeCont:
			return &memberReader{Reader: tr, close: closeAll}, "", nil
		case tar.TypeLink:
			closeAll()
			return nil, cleanMember(hdr.Linkname), nil
		default:
			closeAll()
			return nil, "", refuse(ErrInvalid, "not a regular file in the archive")
		}
	}
}

func cleanMember(name string) string {
	name = strings.TrimPrefix(name, "./")
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

type memberReader struct {
	io.Reader
	close func()
}

func (m *memberReader) Close() error { m.close(); return nil }
