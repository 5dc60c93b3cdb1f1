package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"freezer/control"
	"freezer/filter"
)

// VaultCmd manages vaults.
type VaultCmd struct {
	Create    VaultCreateCmd    `cmd:"" help:"Create a vault (names: 1-255 of a-z A-Z 0-9 _ - .)."`
	List      VaultListCmd      `cmd:"" help:"List vaults as Glacier and the catalog know them."`
	Remove    VaultRemoveCmd    `cmd:"" help:"Remove an empty vault."`
	Inventory VaultInventoryCmd `cmd:"" help:"Request a vault inventory, or apply a finished one to the catalog."`
}

// VaultInventoryCmd requests or applies an inventory.
type VaultInventoryCmd struct {
	Name string `arg:"" help:"Vault name."`
	Wait bool   `help:"Wait for Glacier and apply the inventory."`
}

// Run requests, or applies, an inventory.
func (c *VaultInventoryCmd) Run(ctx context.Context, a *app) error {
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	req := &control.InventoryRequest{Vault: c.Name}
	for {
		rep, t, err := a.do(ctx, e, req)
		switch {
		case c.Wait && errors.Is(err, control.ErrNotYet):
			a.say("vault %s: waiting for Glacier's inventory (it usually takes about 4 hours)", c.Name)
		case err != nil:
			return err
		case t != nil:
			fmt.Fprintf(a.stdout, "%s\t%s\n", c.Name, clean(t.Result))
			return nil
		case !c.Wait:
			fmt.Fprintf(a.stdout, "%s\tinventory requested\tjob %s\n", c.Name, rep.Fields["job"])
			return nil
		default:
			a.say("%s; waiting for it", rep.Message)
		}
		j, err := e.PendingInventory(ctx, c.Name)
		if err != nil {
			return err
		}
		if err := e.WaitJob(ctx, j.ID); err != nil {
			if ctx.Err() != nil {
				return interruptedf("interrupted while waiting for Glacier's inventory of %s (job %s goes on there); to wait again, run: freezer vault inventory --wait %s", c.Name, j.ID, c.Name)
			}
			return err
		}
	}
}

// VaultCreateCmd creates a vault.
type VaultCreateCmd struct {
	Name string `arg:"" help:"Vault name."`
}

// Run creates the vault.
func (c *VaultCreateCmd) Run(ctx context.Context, a *app) error {
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	rep, _, err := a.do(ctx, e, &control.VaultCreateRequest{Name: c.Name})
	a.say("%s", rep.Message)
	return err
}

// VaultListCmd lists vaults.
type VaultListCmd struct {
	JSON bool `help:"Print the vaults as JSON (the README documents the shape)."`
}

// Run prints the vaults.
func (c *VaultListCmd) Run(ctx context.Context, a *app) error {
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	// Vaults made elsewhere appear after a refresh from Glacier (at most
	// once a minute, whichever process asks).
	if err := e.Refresh(ctx, false); err != nil {
		return err
	}
	vs, err := e.Vaults(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(a.stdout, control.VaultsDoc(vs))
	}
	t := newTable(a.stdout, "VAULT", "ARCHIVES", "LOCAL", "SIZE", "INVENTORY", "IN GLACIER")
	for _, v := range vs {
		remote := "yes"
		if !v.Remote() {
			remote = "no"
		}
		t.row(v.Name, v.Archives, v.LocalArchives, control.FormatBytes(v.CatalogSize), dateTime(v.InventoryDate), remote)
	}
	return t.flush()
}

// VaultRemoveCmd removes a vault.
type VaultRemoveCmd struct {
	Name string `arg:"" help:"Vault name."`
}

// Run removes the vault.
func (c *VaultRemoveCmd) Run(ctx context.Context, a *app) error {
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	rep, _, err := a.do(ctx, e, &control.VaultRemoveRequest{Name: c.Name})
	a.say("%s", rep.Message)
	return err
}

// ArchiveCmd manages archives.
type ArchiveCmd struct {
	Create     ArchiveCreateCmd     `cmd:"" help:"Archive files and folders: tar, compress, encrypt, upload."`
	List       ArchiveListCmd       `cmd:"" help:"List a vault's archives with their states."`
	Files      ArchiveFilesCmd      `cmd:"" help:"List the files inside an archive."`
	Upload     ArchiveUploadCmd     `cmd:"" help:"Upload (or resume uploading) an archive that is only local."`
	Cancel     ArchiveCancelCmd     `cmd:"" help:"Abort an archive's unfinished upload in Glacier."`
	Retrieve   ArchiveRetrieveCmd   `cmd:"" help:"Request a retrieval, or download one that finished."`
	Disconnect ArchiveDisconnectCmd `cmd:"" help:"Delete only the local copy of an archive."`
	Remove     ArchiveRemoveCmd     `cmd:"" help:"Delete an archive from Glacier (asks for 'I am sure')."`
	Extract    ArchiveExtractCmd    `cmd:"" help:"Restore an archive's files from its local copy."`
	Hash       ArchiveHashCmd       `cmd:"" hidden:"" help:"Encrypt and tree-hash a local archive without sending it (benchmarks)."`
}

// ArchiveHashCmd runs an upload's encryption and hashing pass alone.
type ArchiveHashCmd struct {
	ArchiveArg `embed:""`
}

// Run prints size, parts and tree hash of what an upload would send.
func (c *ArchiveHashCmd) Run(ctx context.Context, a *app) error {
	e, vault, name, err := c.resolve(ctx, a.localEngine)
	if err != nil {
		return err
	}
	h, err := e.HashArchive(ctx, vault, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%d bytes\t%d parts\t%s\n", h.Size, h.Parts, h.TreeHash)
	return nil
}

// SelectionFlags are the filter options shared by 'plan' and 'archive create'.
type SelectionFlags struct {
	Filter  string   `default:"default" placeholder:"LIST" help:"Filters on: frozen,backup,excluded,manual,regex,drop, or default, or none."`
	Regex   string   `placeholder:"RE" help:"Leave out files whose full path matches this RE2 expression."`
	Exclude []string `placeholder:"PATH" help:"Deselect a file or folder (archive create, and plan --remember, remember it for later selections)."`
	Include []string `placeholder:"PATH" help:"Select a file or folder a filter left out (archive create, and plan --remember, forget its manual exclusion)."`
}

func (s SelectionFlags) request(paths []string) (control.PlanRequest, error) {
	set, err := filter.ParseFilters(s.Filter)
	if err != nil {
		return control.PlanRequest{}, usageErrorf("--filter: %v", err)
	}
	return control.PlanRequest{Paths: paths, Filters: set, Regex: s.Regex, Exclude: s.Exclude,
		Include: s.Include, Drop: set.Has(filter.FilterDrop)}, nil
}

// ArchiveCreateCmd creates an archive.
type ArchiveCreateCmd struct {
	Vault          string `required:"" help:"Vault to put the archive in."`
	Name           string `required:"" help:"Archive name (a file name in the vault's folder)."`
	Compression    string `default:"gzip" enum:"none,gzip,bzip2,zstd" help:"none, gzip (parallel), zstd, or bzip2 (slow)."`
	Key            string `placeholder:"ID" help:"Key to encrypt with (default: the default key; none: no encryption)."`
	Description    string `placeholder:"TEXT" help:"Your text, added to freezer's description."`
	NoUpload       bool   `help:"Build and record the archive but leave it local (upload later: 'archive upload')."`
	SelectionFlags `embed:""`
	Paths          []string `arg:"" name:"path" help:"Files and folders to archive (folders recursively)."`
}

// Run builds, records and uploads the archive.
func (c *ArchiveCreateCmd) Run(ctx context.Context, a *app) error {
	plan, err := c.request(c.Paths)
	if err != nil {
		return err
	}
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	rep, t, err := a.do(ctx, e, &control.CreateRequest{Vault: c.Vault, Name: c.Name, Plan: plan,
		Compression: c.Compression, KeyID: c.Key, Description: c.Description, NoUpload: c.NoUpload})
	if err != nil {
		return err
	}
	if t == nil {
		a.say("%s", rep.Message)
	} else {
		a.say("%s", t.Result)
	}
	info, err := e.Archive(ctx, c.Vault, c.Name)
	if err != nil {
		return err
	}
	size := info.Size
	if size == 0 {
		size = info.LocalSize
	}
	fmt.Fprintf(a.stdout, "%s\t%s\t%s\t%s\t%s\n", cell(info.Vault+"/"+info.Name), info.State, plural(info.FileCount, "file", "files"), control.FormatBytes(size), dash(info.RemoteID))
	return nil
}

// ArchiveListCmd lists archives.
type ArchiveListCmd struct {
	Vault       string `arg:"" help:"Vault name."`
	Description bool   `short:"d" help:"Add each archive's description as Glacier stores it (what recovery without freezer reads)."`
	JSON        bool   `help:"Print the archives as JSON (the README documents the shape)."`
}

// Run prints the vault's archives.
func (c *ArchiveListCmd) Run(ctx context.Context, a *app) error {
	v, err := a.view(ctx)
	if err != nil {
		return err
	}
	as, err := v.Archives(ctx, c.Vault)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(a.stdout, control.ArchivesDoc(c.Vault, as))
	}
	header := []string{"NAME", "STATE", "SIZE", "FILES", "CREATED", "COMPRESSION", "CIPHER", "KEY"}
	if c.Description {
		header = append(header, "DESCRIPTION")
	}
	t := newTable(a.stdout, header...)
	for _, x := range as {
		size := x.Size
		if size == 0 {
			size = x.LocalSize
		}
		row := []any{x.Name, string(x.State), control.FormatBytes(size), x.FileCount, dateTime(x.Created), x.Compression, x.Cipher, dash(x.KeyID)}
		if c.Description {
			row = append(row, x.Description)
		}
		t.row(row...)
	}
	return t.flush()
}

// ArchiveArg is a VAULT/NAME argument.
type ArchiveArg struct {
	Archive string `arg:"" placeholder:"VAULT/NAME" help:"The archive."`
}

// resolve splits the argument and builds the engine the command needs
// (a.engine talks to Glacier, a.localEngine only to the catalog).
func (x ArchiveArg) resolve(ctx context.Context, engine func(context.Context) (*control.Engine, error)) (*control.Engine, string, string, error) {
	vault, name, err := control.SplitArchivePath(x.Archive)
	if err != nil {
		return nil, "", "", err
	}
	e, err := engine(ctx)
	return e, vault, name, err
}

// ArchiveFilesCmd lists an archive's files.
type ArchiveFilesCmd struct {
	ArchiveArg `embed:""`
	JSON       bool `help:"Print the files as JSON (the README documents the shape)."`
}

// Run prints the files.
func (c *ArchiveFilesCmd) Run(ctx context.Context, a *app) error {
	vault, name, err := control.SplitArchivePath(c.Archive)
	if err != nil {
		return err
	}
	v, err := a.view(ctx)
	if err != nil {
		return err
	}
	files, err := v.ArchiveFiles(ctx, vault, name)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(a.stdout, control.ArchiveFilesDoc(vault, name, files))
	}
	t := newTable(a.stdout, "SIZE", "SHA-256", "PATH")
	for _, f := range files {
		t.row(f.Size, f.SHA256, f.Path)
	}
	return t.flush()
}

// ArchiveUploadCmd uploads a local archive.
type ArchiveUploadCmd struct {
	ArchiveArg `embed:""`
}

// Run uploads or resumes.
func (c *ArchiveUploadCmd) Run(ctx context.Context, a *app) error {
	e, vault, name, err := c.resolve(ctx, a.engine)
	if err != nil {
		return err
	}
	rep, t, err := a.do(ctx, e, &control.UploadRequest{Vault: vault, Name: name})
	if err != nil {
		return err
	}
	if t == nil {
		a.say("%s", rep.Message)
	} else {
		a.say("%s", t.Result)
	}
	info, err := e.Archive(ctx, vault, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s\t%s\t%s\n", cell(vault+"/"+name), info.State, dash(info.RemoteID))
	return nil
}

// ArchiveCancelCmd aborts an upload.
type ArchiveCancelCmd struct {
	ArchiveArg `embed:""`
}

// Run aborts the multipart upload.
func (c *ArchiveCancelCmd) Run(ctx context.Context, a *app) error {
	e, vault, name, err := c.resolve(ctx, a.engine)
	if err != nil {
		return err
	}
	rep, _, err := a.do(ctx, e, &control.CancelRequest{Vault: vault, Name: name})
	a.say("%s", rep.Message)
	return err
}

// ArchiveRetrieveCmd retrieves an archive.
type ArchiveRetrieveCmd struct {
	ArchiveArg `embed:""`
	Tier       string `default:"Standard" enum:"Expedited,Standard,Bulk,expedited,standard,bulk" help:"Expedited (minutes), Standard (hours) or Bulk (cheapest, slowest)."`
	Wait       bool   `help:"Wait until the archive is retrieved and downloaded."`
}

// Run requests, checks or downloads.
func (c *ArchiveRetrieveCmd) Run(ctx context.Context, a *app) error {
	e, vault, name, err := c.resolve(ctx, a.engine)
	if err != nil {
		return err
	}
	tier, err := control.ParseTier(c.Tier)
	if err != nil {
		return err
	}
	req := &control.RetrieveRequest{Vault: vault, Name: name, Tier: tier}
	for {
		rep, t, err := a.do(ctx, e, req)
		var job string
		switch {
		case c.Wait && errors.Is(err, control.ErrNotYet):
			info, ierr := e.Archive(ctx, vault, name)
			if ierr != nil || info.Job == nil {
				return err
			}
			job = info.Job.ID
			a.say("%s/%s: waiting for Glacier: job %s (%s retrievals usually take %s)", vault, name, job, info.Job.Tier, control.TierHours(info.Job.Tier))
		case err != nil:
			return err
		case t != nil:
			info, err := e.Archive(ctx, vault, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s\tdownloaded\t%s\n", cell(vault+"/"+name), info.State)
			return nil
		case rep.Fields["job"] == "":
			fmt.Fprintf(a.stdout, "%s\talready local\t%s\n", cell(vault+"/"+name), rep.Fields["state"])
			return nil
		case !c.Wait:
			fmt.Fprintf(a.stdout, "%s\trequested\tmelting\tjob %s\n", cell(vault+"/"+name), rep.Fields["job"])
			return nil
		default:
			job = rep.Fields["job"]
			a.say("%s; waiting for it", rep.Message)
		}
		if err := e.WaitJob(ctx, job); err != nil {
			if ctx.Err() != nil {
				return interruptedf("interrupted while waiting for Glacier (job %s goes on there); to wait again, run: freezer archive retrieve --wait %s", job, shellWord(vault+"/"+name))
			}
			return err
		}
	}
}

// ArchiveDisconnectCmd deletes the local copy.
type ArchiveDisconnectCmd struct {
	ArchiveArg `embed:""`
}

// Run deletes the local file.
func (c *ArchiveDisconnectCmd) Run(ctx context.Context, a *app) error {
	e, vault, name, err := c.resolve(ctx, a.localEngine)
	if err != nil {
		return err
	}
	rep, _, err := a.do(ctx, e, &control.DisconnectRequest{Vault: vault, Name: name})
	a.say("%s", rep.Message)
	return err
}

// ArchiveRemoveCmd deletes an archive from Glacier.
type ArchiveRemoveCmd struct {
	ArchiveArg `embed:""`
	Confirm    string `placeholder:"PHRASE" help:"The confirmation 'I am sure' (asked for on a terminal when missing)."`
}

// Run deletes after confirmation.
func (c *ArchiveRemoveCmd) Run(ctx context.Context, a *app) error {
	e, vault, name, err := c.resolve(ctx, a.engine)
	if err != nil {
		return err
	}
	phrase := c.Confirm
	if phrase == "" && a.terminal {
		fmt.Fprintf(a.stderr, "Deleting %s/%s from Glacier cannot be undone. Type '%s' to go on: ", vault, name, control.RemovePhrase)
		line, _ := bufio.NewReader(a.stdin).ReadString('\n')
		phrase = strings.TrimRight(line, "\r\n")
	}
	rep, _, err := a.do(ctx, e, &control.RemoveRequest{Vault: vault, Name: name, Confirm: phrase})
	a.say("%s", rep.Message)
	return err
}

// ArchiveExtractCmd restores files.
type ArchiveExtractCmd struct {
	ArchiveArg   `embed:""`
	Dest         string   `arg:"" help:"Folder to restore into (created if missing)."`
	Overwrite    bool     `xor:"existing" help:"Replace files that already exist in the destination."`
	SkipExisting bool     `xor:"existing" help:"Restore only what is missing; leave what exists as it is."`
	Include      []string `placeholder:"PATTERN" help:"Restore only this path inside the archive, or what a shell pattern matches (2024, '2024/*.jpg'); repeatable."`
	// Links are refused by default: an archive must not plant a link that
	// later writes follow out of DEST.
	AllowOutsideLinks bool `help:"Restore symbolic links that point outside DEST (absolute or ../) as they are."`
}

// Run extracts.
func (c *ArchiveExtractCmd) Run(ctx context.Context, a *app) error {
	e, vault, name, err := c.resolve(ctx, a.localEngine)
	if err != nil {
		return err
	}
	dest, err := filepath.Abs(c.Dest)
	if err != nil {
		return err
	}
	_, t, err := a.do(ctx, e, &control.ExtractRequest{Vault: vault, Name: name, Dest: dest,
		ExtractOptions: control.ExtractOptions{Overwrite: c.Overwrite, SkipExisting: c.SkipExisting,
			AllowOutsideLinks: c.AllowOutsideLinks, Include: c.Include}})
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, clean(t.Result))
	return nil
}

// PlanCmd shows a selection plan.
type PlanCmd struct {
	SelectionFlags `embed:""`
	Remember       bool     `help:"Remember --exclude and --include for later selections (a plan alone changes nothing)."`
	JSON           bool     `help:"Print the plan as JSON (the format is in the README)."`
	Paths          []string `arg:"" name:"path" help:"Files and folders to plan an archive of."`
}

// Run walks, filters and prints.
func (c *PlanCmd) Run(ctx context.Context, a *app) error {
	req, err := c.request(c.Paths)
	if err != nil {
		return err
	}
	e, err := a.localEngine(ctx)
	if err != nil {
		return err
	}
	req.Remember = c.Remember
	sel, err := e.Plan(ctx, req)
	if err != nil {
		return err
	}
	if c.JSON {
		err = sel.Plan.WriteJSON(a.stdout)
	} else if err = sel.Plan.WriteText(a.stdout); err == nil {
		// The figures create and extract will give for this selection.
		_, err = fmt.Fprintf(a.stdout, "\nAn archive of this selection holds %s.\n", sel.Tally())
	}
	if ch := sel.Plan.ManualChanges(); len(ch.Excluded)+len(ch.Included) > 0 {
		if c.Remember {
			a.say("remembered: %d manual exclusion(s) added, %d forgotten", len(ch.Excluded), len(ch.Included))
		} else {
			a.say("--exclude/--include were not remembered (a plan is a dry run); add --remember to keep them for later selections")
		}
	}
	return err
}

// FilesCmd lists the catalog's files.
type FilesCmd struct {
	JSON bool `help:"Print the files as JSON (the README documents the shape)."`
}

// Run prints one line per file (name, size, SHA-256): where its newest
// copy is, and how many copies the catalog knows.
func (c *FilesCmd) Run(ctx context.Context, a *app) error {
	v, err := a.view(ctx)
	if err != nil {
		return err
	}
	files, err := v.Files(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(a.stdout, control.FilesDoc(files))
	}
	t := newTable(a.stdout, "SIZE", "SHA-256", "COPIES", "NEWEST COPY")
	for _, f := range files {
		t.row(f.Size, f.SHA256, f.Copies, f.Newest.Vault+"/"+f.Newest.Archive+":"+f.Newest.Path)
	}
	return t.flush()
}
