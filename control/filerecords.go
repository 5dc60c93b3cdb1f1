package control

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path"

	"freezer/pipeline/tarball"
	"freezer/store"
)

// fileRecords keeps the records of the files a build puts in an archive
// until the archive's catalog row commits with them. They go to a file
// beside the archive being built, not to memory: an archive of a million
// files has a million records, and the catalog's transaction must not be
// held open for the whole build. The transaction reads them back twice
// (the archive's files, then the hash cache), one record at a time.
//
// A record: the stored path, the source path (uvarint length, bytes),
// size, mtime in ns (varint), inode (uvarint), one byte (1 when stored as
// a hard link), the SHA-256 (32 bytes).
type fileRecords struct {
	f   *os.File
	w   *bufio.Writer
	n   int64
	err error // the first write error; the build's records are then incomplete
}

func newFileRecords(name string) (*fileRecords, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("file list of the archive being built: %w", err)
	}
	return &fileRecords{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// add records one file; it is the build's OnFile.
func (s *fileRecords) add(r tarball.FileRecord) {
	if s.err != nil {
		return
	}
	sum, err := hex.DecodeString(r.SHA256)
	if err != nil || len(sum) != 32 {
		s.err = fmt.Errorf("%s: bad SHA-256 %q", r.Source, r.SHA256)
		return
	}
	var b [3*binary.MaxVarintLen64 + 2*binary.MaxVarintLen64 + 1 + 32]byte
	buf := binary.AppendUvarint(b[:0], uint64(len(r.Path)))
	s.w.Write(buf)
	s.w.WriteString(r.Path)
	buf = binary.AppendUvarint(b[:0], uint64(len(r.Source)))
	s.w.Write(buf)
	s.w.WriteString(r.Source)
	buf = binary.AppendVarint(b[:0], r.Size)
	buf = binary.AppendVarint(buf, r.ModTime.UnixNano())
	buf = binary.AppendUvarint(buf, r.Inode)
	linked := byte(0)
	if r.LinkOf != "" {
		linked = 1
	}
	buf = append(buf, linked)
	buf = append(buf, sum...)
	if _, err := s.w.Write(buf); err != nil {
		s.err = fmt.Errorf("file list of the archive being built: %w", err)
		return
	}
	s.n++
}

// openFileRecords reopens the records a build left beside its archive
// (after a crash between recording the archive and all its files). Their
// number is unknown: they are read to the end.
func openFileRecords(name string) (*fileRecords, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return &fileRecords{f: f, n: -1}, nil
}

// done finishes writing; it returns the first error met.
func (s *fileRecords) done() error {
	if s.err != nil {
		return s.err
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("file list of the archive being built: %w", err)
	}
	return nil
}

// keep closes the file and leaves it, for Recover to finish recording.
func (s *fileRecords) keep() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// remove closes and deletes the file; again, it does nothing.
func (s *fileRecords) remove() {
	if s.f == nil {
		return
	}
	s.f.Close()
	os.Remove(s.f.Name())
	s.f = nil
}

type spooledFile struct {
	path, source  string
	size, mtimeNS int64
	inode         uint64
	linked        bool
	sum           [32]byte
}

// each reads the records back from the start.
func (s *fileRecords) each() iter.Seq2[spooledFile, error] {
	return func(yield func(spooledFile, error) bool) {
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			yield(spooledFile{}, fmt.Errorf("file list of the archive being built: %w", err))
			return
		}
		r := bufio.NewReaderSize(s.f, 256<<10)
		str := func() (string, error) {
			n, err := binary.ReadUvarint(r)
			if err != nil {
				return "", err
			}
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				return "", err
			}
			return string(b), nil
		}
		for k := int64(0); s.n < 0 || k < s.n; k++ {
			var f spooledFile
			var err error
			var inode uint64
			var linked byte
			if s.n < 0 {
				if _, err := r.Peek(1); errors.Is(err, io.EOF) {
					return // the end of a reopened list
				}
			}
			if f.path, err = str(); err == nil {
				if f.source, err = str(); err == nil {
					if f.size, err = binary.ReadVarint(r); err == nil {
						if f.mtimeNS, err = binary.ReadVarint(r); err == nil {
							if inode, err = binary.ReadUvarint(r); err == nil {
								if linked, err = r.ReadByte(); err == nil {
									_, err = io.ReadFull(r, f.sum[:])
								}
							}
						}
					}
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				yield(spooledFile{}, fmt.Errorf("file list of the archive being built, record %d: %w", k, err))
				return
			}
			f.inode, f.linked = inode, linked == 1
			if !yield(f, nil) {
				return
			}
		}
	}
}

// files yields the catalog's records of the archive's files.
func (s *fileRecords) files() iter.Seq2[store.FileRecord, error] {
	return func(yield func(store.FileRecord, error) bool) {
		for f, err := range s.each() {
			if err != nil {
				yield(store.FileRecord{}, err)
				return
			}
			if !yield(store.FileRecord{Path: f.path, Name: path.Base(f.path), Size: f.size, SHA256: hex.EncodeToString(f.sum[:])}, nil) {
				return
			}
		}
	}
}

// hashes yields the hash cache entries the build learnt. A hard link's
// name is one too: same inode, size and mtime as the name that was read,
// so a later plan need not read it either.
func (s *fileRecords) hashes() iter.Seq2[store.HashEntry, error] {
	return func(yield func(store.HashEntry, error) bool) {
		for f, err := range s.each() {
			if err != nil {
				yield(store.HashEntry{}, err)
				return
			}
			if !yield(store.HashEntry{Path: f.source, Size: f.size, MtimeNS: f.mtimeNS, Inode: f.inode, SHA256: hex.EncodeToString(f.sum[:])}, nil) {
				return
			}
		}
	}
}

// defaultRecordBatch is how many rows one catalog transaction writes when
// a new archive's files are recorded in several (Options.RecordBatch):
// about half a second of writing, so that no other process waits long for
// the catalog.
const defaultRecordBatch = 10000

// recordFiles writes an archive's files and the hash cache's entries from
// its records, Options.RecordBatch rows a transaction.
func (e *Engine) recordFiles(ctx context.Context, archiveID int64, recs *fileRecords) error {
	err := inBatches(ctx, e.o.DB, e.o.RecordBatch, recs.files(), func(tx *store.Tx, seq iter.Seq2[store.FileRecord, error]) error {
		return tx.AddFilesFrom(ctx, archiveID, seq)
	})
	if err != nil {
		return err
	}
	return inBatches(ctx, e.o.DB, e.o.RecordBatch, recs.hashes(), func(tx *store.Tx, seq iter.Seq2[store.HashEntry, error]) error {
		return tx.PutHashesFrom(ctx, seq)
	})
}

// inBatches writes a sequence n items a transaction.
func inBatches[T any](ctx context.Context, db *store.DB, n int, all iter.Seq2[T, error], write func(*store.Tx, iter.Seq2[T, error]) error) error {
	next, stop := iter.Pull2(all)
	defer stop()
	batch := make([]T, 0, n)
	for {
		batch = batch[:0]
		for len(batch) < n {
			v, err, ok := next()
			if !ok {
				break
			}
			if err != nil {
				return err
			}
			batch = append(batch, v)
		}
		if len(batch) == 0 {
			return nil
		}
		err := db.Update(ctx, func(tx *store.Tx) error {
			return write(tx, func(yield func(T, error) bool) {
				for _, v := range batch {
					if !yield(v, nil) {
						return
					}
				}
			})
		})
		if err != nil || len(batch) < n {
			return err
		}
	}
}
