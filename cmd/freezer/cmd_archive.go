package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

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
	var res control.InventoryResult
	if c.Wait {
		res, err = e.InventoryAndWait(ctx, c.Name)
	} else {
		res, err = e.Inventory(ctx, c.Name)
	}
	if err != nil {
		return err
	}
	if res.Outcome == control.InventoryApplied {
		fmt.Fprintf(a.stdout, "%s\tinventory applied\t%d added\t%d updated\t%d gone\n", c.Name, res.Added, res.Updated, res.Gone)
		return nil
	}
	fmt.Fprintf(a.stdout, "%s\tinventory %s\tjob %s\n", c.Name, res.Outcome, res.Job.ID)
	return nil
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
	return e.CreateVault(ctx, c.Name)
}

// VaultListCmd lists vaults.
type VaultListCmd struct{}

// Run prints the vaults.
func (c *VaultListCmd) Run(ctx context.Context, a *app) error {
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	vs, err := e.Vaults(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VAULT\tARCHIVES\tLOCAL\tSIZE\tINVENTORY\tIN GLACIER")
	for _, v := range vs {
		inv := "-"
		if !v.InventoryDate.IsZero() {
			inv = v.InventoryDate.UTC().Format(time.DateTime)
		}
		remote := "yes"
		if !v.Remote {
			remote = "no"
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\n", v.Name, v.Archives, v.LocalArchives, humanBytes(v.CatalogSize), inv, remote)
	}
	return w.Flush()
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
	return e.RemoveVault(ctx, c.Name)
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
	Exclude []string `placeholder:"PATH" help:"Deselect a file or folder (remembered for later selections)."`
	Include []string `placeholder:"PATH" help:"Select a file or folder a filter left out (forgets its manual exclusion)."`
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
	info, err := e.CreateArchive(ctx, control.CreateRequest{Vault: c.Vault, Name: c.Name, Plan: plan,
		Compression: c.Compression, KeyID: c.Key, Description: c.Description, NoUpload: c.NoUpload})
	if err != nil {
		return err
	}
	size := info.Size
	if size == 0 {
		size = info.LocalSize
	}
	fmt.Fprintf(a.stdout, "%s/%s\t%s\t%d files\t%s\t%s\n", info.Vault, info.Name, info.State, info.FileCount, humanBytes(size), info.RemoteID)
	return nil
}

// ArchiveListCmd lists archives.
type ArchiveListCmd struct {
	Vault string `arg:"" help:"Vault name."`
}

// Run prints the vault's archives.
func (c *ArchiveListCmd) Run(ctx context.Context, a *app) error {
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	as, err := e.Archives(ctx, c.Vault)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSTATE\tSIZE\tFILES\tCREATED\tCOMPRESSION\tCIPHER\tKEY")
	for _, x := range as {
		size := x.Size
		if size == 0 {
			size = x.LocalSize
		}
		key := x.KeyID
		if key == "" {
			key = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", x.Name, x.State, humanBytes(size), x.FileCount,
			x.Created.UTC().Format(time.DateTime), x.Compression, x.Cipher, key)
	}
	return w.Flush()
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
}

// Run prints the files.
func (c *ArchiveFilesCmd) Run(ctx context.Context, a *app) error {
	e, vault, name, err := c.resolve(ctx, a.localEngine)
	if err != nil {
		return err
	}
	files, err := e.ArchiveFiles(ctx, vault, name)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SIZE\tSHA-256\tPATH")
	for _, f := range files {
		fmt.Fprintf(w, "%d\t%s\t%s\n", f.Size, f.SHA256, f.Path)
	}
	return w.Flush()
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
	info, err := e.UploadArchive(ctx, vault, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s/%s\t%s\t%s\n", vault, name, info.State, info.RemoteID)
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
	return e.CancelUpload(ctx, vault, name)
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
	var res control.RetrieveResult
	if c.Wait {
		res, err = e.RetrieveAndWait(ctx, vault, name, c.Tier)
	} else {
		res, err = e.Retrieve(ctx, vault, name, c.Tier)
	}
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%s/%s\t%s\t%s", vault, name, res.Outcome, res.Archive.State)
	if res.Job.ID != "" {
		line += "\tjob " + res.Job.ID
	}
	fmt.Fprintln(a.stdout, line)
	return nil
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
	return e.Disconnect(ctx, vault, name)
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
	return e.Remove(ctx, vault, name, phrase)
}

// ArchiveExtractCmd restores files.
type ArchiveExtractCmd struct {
	ArchiveArg `embed:""`
	Dest       string `arg:"" help:"Folder to restore into (created if missing)."`
	Overwrite  bool   `help:"Replace files that already exist in the destination."`
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
	st, err := e.Extract(ctx, vault, name, c.Dest, control.ExtractOptions{Overwrite: c.Overwrite, AllowOutsideLinks: c.AllowOutsideLinks})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%d files, %d folders, %d links, %s restored into %s\n", st.Files, st.Dirs, st.Symlinks, humanBytes(st.Bytes), c.Dest)
	return nil
}

// PlanCmd shows a selection plan.
type PlanCmd struct {
	SelectionFlags `embed:""`
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
	sel, err := e.Plan(ctx, req)
	if err != nil {
		return err
	}
	if c.JSON {
		return sel.Plan.WriteJSON(a.stdout)
	}
	return sel.Plan.WriteText(a.stdout)
}

// FilesCmd lists the catalog's files.
type FilesCmd struct{}

// Run prints one line per file (name, size, SHA-256): where its newest
// copy is, and how many copies the catalog knows.
func (c *FilesCmd) Run(ctx context.Context, a *app) error {
	e, err := a.localEngine(ctx)
	if err != nil {
		return err
	}
	files, err := e.Files(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SIZE\tSHA-256\tCOPIES\tNEWEST COPY")
	for _, f := range files {
		fmt.Fprintf(w, "%d\t%s\t%d\t%s/%s:%s\n", f.Size, f.SHA256, f.Copies, f.Newest.Vault, f.Newest.Archive, f.Newest.Path)
	}
	return w.Flush()
}

// humanBytes prints a byte count with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
