package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Inventory model. Glacier regenerates a vault's inventory "approximately
// once a day, starting on the day you first upload an archive", and only if
// archives were added or deleted since the last one; DescribeVault's counts,
// inventory jobs and the empty-vault rule of DeleteVault all read that
// snapshot, never the live state. Here the snapshot instants are vault
// creation + k*InventoryInterval. Every request that changes a vault first
// brings the vault up to date, so a snapshot taken lazily at an instant t
// sees exactly the writes made before t.

// refreshInventory regenerates v's inventory if one is due. Callers hold
// s.mu.
func (s *Sim) refreshInventory(v *vault, now time.Time) error {
	changed := v.WriteSeq != 0 && (v.inv == nil || v.inv.Seq != v.WriteSeq)
	if s.invEvery == 0 {
		if !changed {
			return nil
		}
		return s.takeInventory(v, now)
	}
	age := now.Sub(v.Created)
	if age < s.invEvery {
		return nil
	}
	t := v.Created.Add(age / s.invEvery * s.invEvery)
	if !t.After(v.InvScheduled) {
		return nil
	}
	v.InvScheduled = t
	if changed {
		if err := s.takeInventory(v, t); err != nil {
			return err
		}
	}
	return writeJSON(v.metaPath(), v)
}

// forceInventory regenerates v's inventory now (admin endpoint). As on AWS
// the date moves only if the vault changed, except that a vault that never
// had an inventory gets one, even if empty.
func (s *Sim) forceInventory(v *vault, now time.Time) error {
	if v.inv != nil && v.inv.Seq == v.WriteSeq {
		return nil
	}
	return s.takeInventory(v, now)
}

func (s *Sim) takeInventory(v *vault, date time.Time) error {
	snap := &inventorySnapshot{Date: date, Seq: v.WriteSeq, Archives: []invArchive{}}
	for _, a := range v.archives {
		if a.Deleted != nil {
			continue
		}
		snap.Archives = append(snap.Archives, invArchive{
			ID:          a.ID,
			Description: a.Description,
			Created:     a.Created,
			Size:        a.Size,
			TreeHash:    a.TreeHash,
		})
	}
	sort.Slice(snap.Archives, func(i, j int) bool {
		x, y := snap.Archives[i], snap.Archives[j]
		if !x.Created.Equal(y.Created) {
			return x.Created.Before(y.Created)
		}
		return x.ID < y.ID
	})
	if err := writeJSON(v.inventoryPath(), snap); err != nil {
		return err
	}
	v.inv = snap
	return nil
}

// invSelection is the part of an inventory a job returns.
type invSelection struct {
	archives   []invArchive
	nextMarker *string
}

// selectInventory applies InventoryRetrievalParameters: archives created on
// or after StartDate and before EndDate, at most Limit of them, starting at
// Marker (the ID of the first archive of the page, as handed out in the
// previous job's InventoryRetrievalParameters.Marker).
func selectInventory(inv *inventorySnapshot, p *invParams) (invSelection, *apiError) {
	var start, end time.Time
	limit := 0
	if p != nil {
		var err error
		if p.StartDate != nil {
			if start, err = time.Parse(time.RFC3339, *p.StartDate); err != nil {
				return invSelection{}, invalidParam("Invalid StartDate: %s. Use ISO 8601 in seconds, e.g. 2013-03-20T17:03:43Z.", *p.StartDate)
			}
		}
		if p.EndDate != nil {
			if end, err = time.Parse(time.RFC3339, *p.EndDate); err != nil {
				return invSelection{}, invalidParam("Invalid EndDate: %s. Use ISO 8601 in seconds, e.g. 2013-03-20T17:03:43Z.", *p.EndDate)
			}
		}
		if p.Limit != nil {
			n, err := strconv.Atoi(*p.Limit)
			if err != nil || n < 1 {
				return invSelection{}, invalidParam("Invalid Limit: %s. It must be an integer of at least 1.", *p.Limit)
			}
			limit = n
		}
		if !start.IsZero() && !end.IsZero() && !start.Before(end) {
			return invSelection{}, invalidParam("The StartDate must be before the EndDate.")
		}
	}
	var picked []invArchive
	for _, a := range inv.Archives {
		if !start.IsZero() && a.Created.Before(start) {
			continue
		}
		if !end.IsZero() && !a.Created.Before(end) {
			continue
		}
		picked = append(picked, a)
	}
	if p != nil && p.Marker != nil {
		at := -1
		for i, a := range picked {
			if a.ID == *p.Marker {
				at = i
				break
			}
		}
		if at < 0 {
			return invSelection{}, invalidParam("Invalid Marker: %s", *p.Marker)
		}
		picked = picked[at:]
	}
	sel := invSelection{archives: picked}
	if limit > 0 && len(picked) > limit {
		m := picked[limit].ID
		sel.nextMarker = &m
		sel.archives = picked[:limit]
	}
	return sel, nil
}

// writeInventory writes the inventory document to path, element by element
// so a large vault does not need one big buffer. JSON keys and order are as
// on the wire: {"VaultARN","InventoryDate","ArchiveList":[{"ArchiveId",
// "ArchiveDescription","CreationDate","Size","SHA256TreeHash"}]}; the dates
// are in whole seconds, as real output shows.
func writeInventory(path, format, vaultARN string, date time.Time, archives []invArchive) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(f)
	if format == "CSV" {
		err = writeInventoryCSV(bw, archives)
	} else {
		err = writeInventoryJSON(bw, vaultARN, date, archives)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	var size int64
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err == nil {
			size = st.Size()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return 0, fmt.Errorf("write inventory %s: %w", filepath.Base(path), err)
	}
	return size, nil
}

func writeInventoryJSON(w *bufio.Writer, vaultARN string, date time.Time, archives []invArchive) error {
	head, err := json.Marshal(struct {
		VaultARN      string `json:"VaultARN"`
		InventoryDate string `json:"InventoryDate"`
	}{vaultARN, fmtSeconds(date)})
	if err != nil {
		return err
	}
	w.Write(head[:len(head)-1])
	w.WriteString(`,"ArchiveList":[`)
	for i, a := range archives {
		if i > 0 {
			w.WriteByte(',')
		}
		item, err := json.Marshal(struct {
			ArchiveId          string `json:"ArchiveId"`
			ArchiveDescription string `json:"ArchiveDescription"`
			CreationDate       string `json:"CreationDate"`
			Size               int64  `json:"Size"`
			SHA256TreeHash     string `json:"SHA256TreeHash"`
		}{a.ID, a.Description, fmtSeconds(a.Created), a.Size, a.TreeHash})
		if err != nil {
			return err
		}
		w.Write(item)
	}
	_, err = w.WriteString("]}")
	return err
}

// writeInventoryCSV writes the five documented columns. [UNCERTAIN] the
// header row (the docs do not say; one is written). Descriptions are always
// enclosed in double quotes, which the docs allow ("may be returned with the
// whole field enclosed in double-quotes"), with an embedded '"' escaped by a
// backslash and the backslash itself left alone, as documented; clients
// therefore need that quoting rule, not RFC 4180.
func writeInventoryCSV(w *bufio.Writer, archives []invArchive) error {
	w.WriteString("ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n")
	for _, a := range archives {
		w.WriteString(a.ID)
		w.WriteString(`,"`)
		w.WriteString(strings.ReplaceAll(a.Description, `"`, `\"`))
		w.WriteString(`",`)
		w.WriteString(fmtSeconds(a.Created))
		w.WriteByte(',')
		w.WriteString(strconv.FormatInt(a.Size, 10))
		w.WriteByte(',')
		w.WriteString(a.TreeHash)
		if _, err := w.WriteString("\n"); err != nil {
			return err
		}
	}
	return nil
}
