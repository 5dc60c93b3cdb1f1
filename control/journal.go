package control

import (
	"context"
	"errors"

	"freezer/pipeline"
	"freezer/store"
)

// journal keeps an archive's multipart upload progress in the catalog.
type journal struct {
	db        *store.DB
	archiveID int64
}

var _ pipeline.Journal = journal{}

func (j journal) Load(ctx context.Context) (pipeline.UploadRecord, bool, error) {
	u, err := j.db.Upload(ctx, j.archiveID)
	if errors.Is(err, store.ErrNotFound) {
		return pipeline.UploadRecord{}, false, nil
	}
	if err != nil {
		return pipeline.UploadRecord{}, false, err
	}
	return pipeline.UploadRecord{UploadID: u.UploadID, PartSize: u.PartSize, Size: u.Size,
		SourceSHA256: u.SourceSHA256, KeyID: u.KeyID, Cipher: u.Cipher, IV: u.IV, Header: u.Header,
		Description: u.Description, Parts: u.Parts, Started: u.Started}, true, nil
}

func (j journal) Start(ctx context.Context, r pipeline.UploadRecord) error {
	return j.db.Update(ctx, func(tx *store.Tx) error {
		return tx.StartUpload(ctx, store.Upload{ArchiveID: j.archiveID, UploadID: r.UploadID, PartSize: r.PartSize,
			Size: r.Size, SourceSHA256: r.SourceSHA256, Cipher: r.Cipher, KeyID: r.KeyID, IV: r.IV, Header: r.Header,
			Description: r.Description})
	})
}

func (j journal) PartStarted(ctx context.Context, part int, treeHash string) error {
	return j.db.PartStarted(ctx, j.archiveID, part, treeHash)
}

func (j journal) PartDone(ctx context.Context, part int, treeHash string) error {
	return j.db.PartDone(ctx, j.archiveID, part, treeHash)
}

func (j journal) Finish(ctx context.Context) error {
	return j.db.Update(ctx, func(tx *store.Tx) error { return tx.FinishUpload(ctx, j.archiveID) })
}
