package fusefs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"freezer/control"
	"freezer/store"
)

// The read files of .control are snapshots taken at open and served by
// offset (FOPEN_DIRECT_IO: their size is unknown before). Each has a
// .json twin holding the document `freezer … --json` prints (control's
// JSON shapes, version 1).

// recentTasks is how many ended tasks status shows besides the running.
const recentTasks = 20

// errorsShown is how many entries of the error log errors shows.
const errorsShown = 200

// snapshotHandle serves bytes taken at open.
type snapshotHandle struct {
	data []byte
}

func (h *snapshotHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= int64(len(h.data)) {
		return fuse.ReadResultData(nil), 0
	}
	end := min(off+int64(len(dest)), int64(len(h.data)))
	return fuse.ReadResultData(h.data[off:end]), 0
}

func jsonDoc(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// tasks are the running and recent tasks of every process, with this
// process's own figures fresher than the catalog's.
func (f *filesystem) tasks(ctx context.Context) ([]control.TaskInfo, error) {
	ts, err := f.eng.Tasks(ctx, recentTasks)
	if err != nil {
		return nil, err
	}
	for i, t := range ts {
		if p, ok := f.eng.Running(t.ID); ok && p.BytesDone >= t.BytesDone {
			ts[i].Phase, ts[i].BytesDone, ts[i].BytesTotal = p.Phase, p.BytesDone, p.BytesTotal
			if t.Rate > 0 && p.BytesTotal > p.BytesDone {
				ts[i].ETA = time.Duration(float64(p.BytesTotal-p.BytesDone) / t.Rate * float64(time.Second)).Round(time.Second)
			}
		}
	}
	return ts, nil
}

func statusText(ctx context.Context, f *filesystem) ([]byte, error) {
	ts, err := f.tasks(ctx)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TASK\tKIND\tTARGET\tSTATE\tPHASE\tDONE\tRATE\tLEFT\tOWNER")
	for _, t := range ts {
		done := control.FormatBytes(t.BytesDone)
		if t.BytesTotal > 0 {
			done += " / " + control.FormatBytes(t.BytesTotal)
		}
		rate, left := "-", "-"
		if t.Rate > 0 && !t.Ended() {
			rate = control.FormatBytes(int64(t.Rate)) + "/s"
		}
		if t.ETA >= 0 && !t.Ended() {
			left = t.ETA.String()
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Kind, t.Target(), t.State, t.Phase, done, rate, left, t.Owner)
	}
	w.Flush()
	for _, t := range ts {
		switch {
		case t.State == store.TaskFailed && t.Error != "":
			fmt.Fprintf(&b, "task %d failed: %s\n", t.ID, oneLine(t.Error))
		case t.State == store.TaskInterrupted && t.Resume != "":
			fmt.Fprintf(&b, "task %d was interrupted; to resume it, write to .control/ctl: %s\n", t.ID, t.Resume)
		}
	}
	return b.Bytes(), nil
}

func statusJSON(ctx context.Context, f *filesystem) ([]byte, error) {
	ts, err := f.tasks(ctx)
	if err != nil {
		return nil, err
	}
	return jsonDoc(control.Status(ts))
}

func jobsText(ctx context.Context, f *filesystem) ([]byte, error) {
	js, err := f.eng.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VAULT\tARCHIVE\tACTION\tTIER\tSTATUS\tCREATED\tCOMPLETED\tEXPIRES\tJOB")
	for _, j := range js {
		archive := j.Archive
		if archive == "" {
			archive = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Vault, archive, j.Action, dash(j.Tier), j.Status,
			dash(xattrTime(j.Created)), dash(xattrTime(j.Completed)), dash(xattrTime(j.Expires)), j.ID)
	}
	w.Flush()
	return b.Bytes(), nil
}

func jobsJSON(ctx context.Context, f *filesystem) ([]byte, error) {
	js, err := f.eng.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	return jsonDoc(control.JobsDoc(js))
}

func filesText(ctx context.Context, f *filesystem) ([]byte, error) {
	fs, err := f.eng.Files(ctx)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SIZE\tSHA256\tCOPIES\tNEWEST\tPATH")
	for _, c := range fs {
		fmt.Fprintf(w, "%d\t%s\t%d\t%s/%s\t%s\n", c.Size, c.SHA256, c.Copies, c.Newest.Vault, c.Newest.Archive, c.Newest.Path)
	}
	w.Flush()
	return b.Bytes(), nil
}

func filesJSON(ctx context.Context, f *filesystem) ([]byte, error) {
	fs, err := f.eng.Files(ctx)
	if err != nil {
		return nil, err
	}
	return jsonDoc(control.FilesDoc(fs))
}

// errorsText shows the newest entries of the error log, oldest first,
// one per line: time, source, kind, the request, and the message.
func errorsText(ctx context.Context, f *filesystem) ([]byte, error) {
	es, err := f.eng.Errors(ctx, errorsShown)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, e := range es {
		fmt.Fprintf(&b, "%s %s %s: %s: %s\n", xattrTime(e.At), e.Source, e.Kind, oneLine(e.Command), oneLine(e.Message))
	}
	return b.Bytes(), nil
}

func errorsJSON(ctx context.Context, f *filesystem) ([]byte, error) {
	es, err := f.eng.Errors(ctx, errorsShown)
	if err != nil {
		return nil, err
	}
	return jsonDoc(control.ErrorsDoc(es))
}

// settingsText shows every setting in effect (secrets redacted) and where
// its value comes from, then the stored exclusions.
func settingsText(ctx context.Context, f *filesystem) ([]byte, error) {
	all, err := f.eng.Settings(ctx)
	if err != nil {
		return nil, err
	}
	x, err := f.eng.ExclusionSettings(ctx)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("# write 'KEY VALUE' or 'unset KEY' lines to this file to store a setting\n")
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KEY\tVALUE\tSOURCE")
	for _, s := range control.Settings() {
		r := all[s.Key]
		fmt.Fprintf(w, "%s\t%s\t%s\n", s.Key, dash(control.Quote(control.Redact(s, r.Value))), r.Source)
	}
	w.Flush()
	for _, e := range x.Exclude {
		fmt.Fprintf(&b, "exclude %s\n", control.Quote(e))
	}
	for _, e := range x.Backup {
		fmt.Fprintf(&b, "exclude backup %s\n", control.Quote(e))
	}
	for _, e := range x.Manual {
		fmt.Fprintf(&b, "deselected %s\n", control.Quote(e))
	}
	return b.Bytes(), nil
}

func settingsJSON(ctx context.Context, f *filesystem) ([]byte, error) {
	all, err := f.eng.Settings(ctx)
	if err != nil {
		return nil, err
	}
	x, err := f.eng.ExclusionSettings(ctx)
	if err != nil {
		return nil, err
	}
	return jsonDoc(control.SettingsDoc(all, x))
}

func dash(s string) string {
	if s == "" || s == `""` {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
