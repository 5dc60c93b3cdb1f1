package control_test

import (
	"reflect"
	"testing"

	"freezer/control"
)

// TestExtractAndPlanLines: the options added to extract and plan parse
// into the request the CLI builds, and write back as the same line (the
// line is what a refused extract's hint suggests).
func TestExtractAndPlanLines(t *testing.T) {
	for line, want := range map[string]control.Request{
		`extract v/a /r skip-existing=yes include=2024 include="2024/*.jpg"`: &control.ExtractRequest{Vault: "v", Name: "a", Dest: "/r",
			ExtractOptions: control.ExtractOptions{SkipExisting: true, Include: []string{"2024", "2024/*.jpg"}}},
		`extract v/a /r overwrite=yes allow-outside-links=yes`: &control.ExtractRequest{Vault: "v", Name: "a", Dest: "/r",
			ExtractOptions: control.ExtractOptions{Overwrite: true, AllowOutsideLinks: true}},
		`plan /a exclude=/a/b remember=yes`: nil,
	} {
		reqs, err := control.Parse(line, control.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if want != nil && !reflect.DeepEqual(reqs[0], want) {
			t.Errorf("%s parsed as %+v", line, reqs[0])
		}
		if p, ok := reqs[0].(*control.PlanRequest); ok && (!p.Remember || len(p.Exclude) != 1) {
			t.Errorf("%s parsed as %+v", line, p)
		}
		again, err := control.Parse(reqs[0].Line(), control.ParseOptions{})
		if err != nil || !reflect.DeepEqual(again[0], reqs[0]) {
			t.Errorf("%s: written back as %q: %v", line, reqs[0].Line(), err)
		}
	}
}
