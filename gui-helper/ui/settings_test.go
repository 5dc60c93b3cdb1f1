package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"freezer/gui-helper/fakectl"
)

func newSettings(t *testing.T, f *fakectl.Fake) *SettingsView {
	t.Helper()
	a := test.NewTempApp(t)
	w := a.NewWindow("settings")
	v := NewSettingsView(w, f)
	w.SetContent(v.Content())
	w.Resize(fyne.NewSize(900, 720))
	t.Cleanup(v.Stop)
	v.w.wait()
	return v
}

func TestSettingsAWSValues(t *testing.T) {
	f := fakectl.New()
	v := newSettings(t, f)
	if got := v.fields["region"].Text; got != "eu-west-1" {
		t.Errorf("region %q", got)
	}
	secret := v.fields["secret-key"]
	if secret.Text != "" || !secret.Password || !strings.Contains(secret.PlaceHolder, "stored") {
		t.Errorf("secret key field shows %q (placeholder %q)", secret.Text, secret.PlaceHolder)
	}
	if h := v.items["sns-topic"].HintText; !strings.Contains(h, "from config file") {
		t.Errorf("hint %q does not say where the value comes from", h)
	}

	test.Tap(v.save)
	v.w.wait()
	if v.awsState.Text != "Nothing changed." {
		t.Errorf("status %q", v.awsState.Text)
	}

	v.fields["region"].SetText("")
	test.Type(v.fields["region"], "us-east-2")
	test.Type(secret, "new secret")
	v.fields["access-key"].SetText("")
	test.Tap(v.save)
	v.w.wait()
	rs := strings.Join(f.Requests(), "\n")
	for _, want := range []string{"settings region us-east-2", `settings secret-key "new secret"`, "settings unset access-key"} {
		if !strings.Contains(rs, want) {
			t.Errorf("requests lack %q:\n%s", want, rs)
		}
	}
	if strings.Contains(rs, "accountid") || strings.Contains(rs, "sns-topic") {
		t.Errorf("unchanged settings were written:\n%s", rs)
	}
	if secret.Text != "" {
		t.Error("the secret key is still in its field after saving")
	}
	if v.awsState.Importance != widget.SuccessImportance || v.items["region"].HintText == "" ||
		!strings.Contains(v.items["region"].HintText, "from database") {
		t.Errorf("status %q, hint %q", v.awsState.Text, v.items["region"].HintText)
	}
}

func TestSettingsRefusalSavesNothing(t *testing.T) {
	f := fakectl.New()
	v := newSettings(t, f)
	v.fields["poll-time"].SetText("99")
	v.fields["threads"].SetText("8")
	test.Tap(v.save)
	v.w.wait()
	if v.awsState.Importance != widget.DangerImportance || !strings.Contains(v.awsState.Text, "poll-time 99") {
		t.Errorf("status %q", v.awsState.Text)
	}
	s, _ := f.Settings(v.w.ctx)
	for _, x := range s.Settings {
		if x.Key == "threads" && x.Value != "4" {
			t.Errorf("threads stored as %q although the request was refused", x.Value)
		}
	}
}

func keyRows(v *SettingsView) []*keyRow {
	var out []*keyRow
	for _, o := range test.LaidOutObjects(v.keyList) {
		if r, ok := o.(*keyRow); ok && r.Visible() && r.Text != "" {
			out = append(out, r)
		}
	}
	return out
}

func TestSettingsKeys(t *testing.T) {
	f := fakectl.New()
	v := newSettings(t, f)
	v.SelectTab("Encryption")
	if len(v.keys) != 1 {
		t.Fatalf("%d keys listed", len(v.keys))
	}

	v.algorithm.SetSelected("aes-128-cbc")
	test.Type(v.keyName, "laptop")
	test.Tap(v.create)
	v.w.wait()
	if len(v.keys) != 2 || v.keys[1].Algorithm != "aes-128-cbc" || v.keys[1].Name != "laptop" {
		t.Fatalf("keys %+v", v.keys)
	}
	if !strings.Contains(v.keyState.Text, "Created key "+v.keys[1].ID) {
		t.Errorf("status %q", v.keyState.Text)
	}
	for _, r := range keyRows(v) {
		if strings.Contains(r.Text, "cdcd") || strings.Contains(r.Text, "abab") {
			t.Errorf("the key list shows key material: %q", r.Text)
		}
	}

	// The manual: double click a key to get its JSON in the bottom field.
	rows := keyRows(v)
	if len(rows) != 2 {
		t.Fatalf("%d key rows drawn", len(rows))
	}
	test.DoubleTap(rows[0])
	v.w.wait()
	if !strings.Contains(v.keyJSON.Text, `"id": "3f2a9c0d51e8b7a4"`) || !strings.Contains(v.keyJSON.Text, `"key": "abab`) {
		t.Errorf("key JSON %q", v.keyJSON.Text)
	}

	// Paste a key's JSON and press Import.
	v.keyJSON.SetText(`{"format":"freezer-key","version":1,"id":"00000000000000aa","name":"from the old laptop","algorithm":"aes-256-cbc","key":"` +
		strings.Repeat("0f", 32) + `"}`)
	test.Tap(v.importBtn)
	v.w.wait()
	if len(v.keys) != 3 || v.keys[2].ID != "00000000000000aa" || v.keyJSON.Text != "" {
		t.Errorf("after import: keys %+v, field %q", v.keys, v.keyJSON.Text)
	}
	v.keyJSON.SetText(`{"format":"freezer-key","algorithm":"aes-256-cbc","key":"0f"}`)
	test.Tap(v.importBtn)
	v.w.wait()
	if v.keyState.Importance != widget.DangerImportance || !strings.Contains(v.keyState.Text, "not imported") {
		t.Errorf("status %q", v.keyState.Text)
	}

	v.keyList.Select(1)
	v.setDefault(v.keys[v.keySel].ID)
	v.w.wait()
	if !strings.Contains(strings.Join(f.Requests(), "\n"), "key default "+v.keys[1].ID) {
		t.Errorf("requests %q", f.Requests())
	}
}

func TestSettingsExclusions(t *testing.T) {
	f := fakectl.New()
	v := newSettings(t, f)
	excl := v.lists["exclude"]
	if n := excl.list.Length(); n != 1 {
		t.Fatalf("%d exclusion expressions", n)
	}
	test.Type(excl.entry, "re:/node_modules/")
	test.Tap(excl.add)
	v.w.wait()
	if got := v.exclusions.Exclusions.Exclude; len(got) != 2 || got[1] != "re:/node_modules/" {
		t.Errorf("exclusions %q", got)
	}
	if excl.entry.Text != "" {
		t.Errorf("entry keeps %q", excl.entry.Text)
	}
	excl.list.Select(0)
	test.Tap(excl.remove)
	v.w.wait()
	if got := v.exclusions.Exclusions.Exclude; len(got) != 1 || got[0] != "re:/node_modules/" {
		t.Errorf("exclusions after remove %q", got)
	}

	backup := v.lists["backup"]
	test.Type(backup.entry, `\.tmp$`)
	test.Tap(backup.add)
	v.w.wait()
	if got := v.exclusions.Exclusions.Backup; len(got) != 1 || got[0] != `\.tmp$` {
		t.Errorf("backup patterns %q", got)
	}
	if !strings.Contains(strings.Join(f.Requests(), "\n"), `exclude add "\\.tmp$" backup=yes`) {
		t.Errorf("requests %q", f.Requests())
	}
	backup.entry.SetText("(")
	test.Tap(backup.add)
	v.w.wait()
	if v.exclState.Importance != widget.DangerImportance || !strings.Contains(v.exclState.Text, "backup pattern (") {
		t.Errorf("status %q", v.exclState.Text)
	}
}

func TestManualExclusionFromTheArchiveDialog(t *testing.T) {
	f := fakectl.New()
	a := newArchive(t, f, proj)
	a.contents.Select(widget.TableCellID{Row: row(t, a, proj+"/README.md"), Col: 1})
	a.w.wait()

	v := newSettings(t, f)
	man := v.lists["manual"]
	if got := v.exclusions.Exclusions.Manual; len(got) != 1 || got[0] != proj+"/README.md" {
		t.Fatalf("manual exclusions %q", got)
	}
	man.list.Select(0)
	test.Tap(man.remove)
	v.w.wait()
	if got := v.exclusions.Exclusions.Manual; len(got) != 0 {
		t.Errorf("manual exclusions after forget %q", got)
	}
}

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		want Command
		err  string
	}{
		{nil, Command{Name: "new-archive"}, ""},
		{[]string{"new-archive", "a", "/b", "--vault", "photos"}, Command{Name: "new-archive", Paths: []string{"/cwd/a", "/b"}, Vault: "photos"}, ""},
		{[]string{"new-archive", "file:///x/y z"}, Command{Name: "new-archive", Paths: []string{"/x/y z"}}, ""},
		{[]string{"new-archive", "--", "-odd"}, Command{Name: "new-archive", Paths: []string{"/cwd/-odd"}}, ""},
		{[]string{"new-archive", "-x"}, Command{}, "unknown flag"},
		{[]string{"archive", "photos/holiday-2024"}, Command{Name: "archive", Vault: "photos", Archive: "holiday-2024"}, ""},
		{[]string{"archive", "photos"}, Command{}, "not VAULT/ARCHIVE"},
		{[]string{"settings", "Encryption"}, Command{Name: "settings", Tab: "Encryption"}, ""},
		{[]string{"vaults"}, Command{}, "unknown command"},
	} {
		got, err := ParseCommand(c.args, "/cwd")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || got.Name != c.want.Name || strings.Join(got.Paths, "|") != strings.Join(c.want.Paths, "|") ||
			got.Vault != c.want.Vault || got.Archive != c.want.Archive || got.Tab != c.want.Tab {
			t.Errorf("%q: %+v, %v; want %+v", c.args, got, err, c.want)
		}
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 40: "3.0 TiB"} {
		if got := bytesText(n); got != want {
			t.Errorf("bytesText(%d) = %q, want %q", n, got, want)
		}
	}
	for s, want := range map[int64]string{-1: "unknown", 5: "0:05", 65: "1:05", 3725: "1:02:05"} {
		if got := etaText(s); got != want {
			t.Errorf("etaText(%d) = %q, want %q", s, got, want)
		}
	}
}
