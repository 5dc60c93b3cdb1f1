package aws

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

const hashA = "6b9d4cf8697bd3af6aa1b590a0b27b337da5b18988dbcc619a3e608a554a1e62"

// From the Glacier developer guide (api-job-output-get), hash made real.
const dgInventory = `{"VaultARN":"arn:aws:glacier:us-west-2:012345678901:vaults/examplevault",
 "InventoryDate":"2011-12-12T14:19:01Z",
 "ArchiveList":[
  {"ArchiveId":"DMTmICA2n5Tdqq5BV2z7og-A20xnpAPKt3UXwWxdWsn_D6auTUrW6kwy5Qyj9xd1MCE1mBYvMQ63LWaT8yTMzMaCxB_9VBWrW4Jw4zsvg5kehAPDVKcppUD1X7b24JukOr4mMAq-oA",
   "ArchiveDescription":"my archive1","CreationDate":"2012-05-15T17:19:46.700Z","Size":2140123,
   "SHA256TreeHash":"6b9d4cf8697bd3af6aa1b590a0b27b337da5b18988dbcc619a3e608a554a1e62"},
  {"ArchiveId":"2lHzwhKhgF2JHyvCS-ZRuF08IQLuyB4265Hs3AXj9MoAIhz7tbXAvcFeHusgU_hViO1WeCBe0N5lsYYHRyZ7rrmRkNRuYrXUs_sjl2K8ume_7mKO_0i7C-uHE1oHqaW9d37pabXrSA",
   "ArchiveDescription":"my archive2","CreationDate":"2012-05-15T17:21:39.339Z","Size":2140123,
   "SHA256TreeHash":"7f2fe580edb35154041fa3d4b41dd6d3adaef0c85d2ff6309f1d4b520eeecda3","Extra":[1,2]}
 ]}`

func TestParseInventory(t *testing.T) {
	inv, err := ParseInventory(strings.NewReader(dgInventory))
	if err != nil {
		t.Fatal(err)
	}
	if inv.VaultARN != "arn:aws:glacier:us-west-2:012345678901:vaults/examplevault" ||
		!inv.Date.Equal(time.Date(2011, 12, 12, 14, 19, 1, 0, time.UTC)) || len(inv.Archives) != 2 {
		t.Fatalf("inventory = %+v", inv)
	}
	a := inv.Archives[0]
	if a.Description != "my archive1" || a.Size != 2140123 || a.TreeHash != hashA ||
		!a.Created.Equal(time.Date(2012, 5, 15, 17, 19, 46, 700e6, time.UTC)) || !strings.HasPrefix(a.ID, "DMTm") {
		t.Fatalf("archive = %+v", a)
	}

	empty, err := ParseInventory(strings.NewReader(`{"VaultARN":"arn:x","InventoryDate":"2011-12-12T14:19:01Z","ArchiveList":[]}`))
	if err != nil || len(empty.Archives) != 0 {
		t.Fatalf("empty inventory: %+v, %v", empty, err)
	}

	bad := []string{
		``, `null`, `[]`, `{}`, `{"VaultARN":"a"}`,
		`{"VaultARN":"a","InventoryDate":"yesterday","ArchiveList":[]}`,
		`{"VaultARN":"a","InventoryDate":"2011-12-12T14:19:01Z","ArchiveList":{}}`,
		`{"VaultARN":"a","InventoryDate":"2011-12-12T14:19:01Z","ArchiveList":[]} trailing`,
		`{"VaultARN":"a","InventoryDate":"2011-12-12T14:19:01Z","ArchiveList":[{"ArchiveId":"x"}]}`,
		`{"VaultARN":"a","InventoryDate":"2011-12-12T14:19:01Z","ArchiveList":[{"ArchiveId":"x","CreationDate":"2012-05-15T17:19:46.700Z","Size":-1,"SHA256TreeHash":"` + hashA + `"}]}`,
		`{"VaultARN":"a","InventoryDate":"2011-12-12T14:19:01Z","ArchiveList":[{"ArchiveId":"x","CreationDate":"2012-05-15T17:19:46.700Z","Size":1.5,"SHA256TreeHash":"` + hashA + `"}]}`,
		`{"VaultARN":"a","InventoryDate":"2011-12-12T14:19:01Z","ArchiveList":[{"ArchiveId":"x","CreationDate":"2012-05-15T17:19:46.700Z","Size":1,"SHA256TreeHash":"abc"}]}`,
		`{"VaultARN":"a","InventoryDate":"2011-12-12T14:19:01Z","ArchiveList":[],"ArchiveList":[]}`,
		dgInventory[:len(dgInventory)-3],
	}
	for _, b := range bad {
		if _, err := ParseInventory(strings.NewReader(b)); err == nil {
			t.Errorf("accepted %q", b)
		}
	}
}

func TestParseInventoryCSV(t *testing.T) {
	const date = "2012-05-15T17:19:46.700Z"
	in := "ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\r\n" +
		"id-1,plain," + date + ",10," + hashA + "\r\n" +
		`"id_2","my archive description,1\"2",` + `"` + date + `","20","` + hashA + "\"\n" +
		`id3,"ends with backslash, and comma\",` + date + ",0," + hashA + "\n" +
		`id4,"quote then backslash: \"\",` + date + ",1," + hashA + "\n" +
		`id5,"a\\"b",` + date + ",1," + hashA + "\n" +
		`id6,,` + date + ",1," + hashA + "\n" +
		"\n"
	inv, err := ParseInventoryCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id, desc string
		size     int64
	}{
		{"id-1", "plain", 10},
		{"id_2", `my archive description,1"2`, 20},
		{"id3", `ends with backslash, and comma\`, 0},
		{"id4", `quote then backslash: "\`, 1},
		{"id5", `a\"b`, 1},
		{"id6", ``, 1},
	}
	if len(inv.Archives) != len(want) {
		t.Fatalf("%d archives, want %d: %+v", len(inv.Archives), len(want), inv.Archives)
	}
	for i, w := range want {
		a := inv.Archives[i]
		if a.ID != w.id || a.Description != w.desc || a.Size != w.size || a.TreeHash != hashA || a.Created.IsZero() {
			t.Errorf("archive %d = %+v, want %+v", i, a, w)
		}
	}
	bad := []string{
		"just one field\n",
		"a,b,c,d\n",
		"id,desc," + date + ",ten," + hashA + "\n",
		"id,desc,today,1," + hashA + "\n",
		"id,desc," + date + ",1,nothex\n",
		`id,"unterminated,` + date + ",1," + hashA + "\n",
		`id,"inner " quote",` + date + ",1," + hashA + "\n",
		"id,desc," + date + ",1," + hashA + "\nArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n",
	}
	for _, b := range bad {
		if _, err := ParseInventoryCSV(strings.NewReader(b)); err == nil {
			t.Errorf("accepted %q", b)
		}
	}
}

const dgNotification = `{"Action":"InventoryRetrieval","ArchiveId":null,"ArchiveSizeInBytes":null,"Completed":true,` +
	`"CompletionDate":"2012-06-12T22:20:40.790Z","CreationDate":"2012-06-12T22:20:36.814Z",` +
	`"InventorySizeInBytes":11693,"JobDescription":"my retrieval job","JobId":"HkF9p6o7yjhFx-K3CGl6fuSm6VzW9T7esGQfco8nUXVYwS0jlb5gq1JZ55yHgt5vP54ZShjoQzQVVh7vEXAMPLEjobID",` +
	`"SHA256TreeHash":null,"SNSTopic":"arn:aws:sns:us-west-2:012345678901:mytopic","StatusCode":"Succeeded",` +
	`"StatusMessage":"Succeeded","VaultARN":"arn:aws:glacier:us-west-2:012345678901:vaults/examplevault"}`

func envelope(t *testing.T, typ, msg string) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{
		"Type": typ, "MessageId": "5e8b8a5c-0000-4000-8000-000000000000", "TopicArn": "arn:aws:sns:us-west-2:012345678901:mytopic",
		"Message": msg, "Timestamp": "2012-06-12T22:20:41.000Z", "SignatureVersion": "1", "Signature": "c2ln",
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseJobNotification(t *testing.T) {
	archiveJob := `{"Action":"ArchiveRetrieval","ArchiveId":"AID","ArchiveSHA256TreeHash":"` + hashA + `",` +
		`"ArchiveSizeInBytes":1100754352,"Completed":true,"CompletionDate":"2013-03-07T05:51:45.382Z",` +
		`"CreationDate":"2013-03-07T01:35:49.390Z","InventorySizeInBytes":null,"JobDescription":null,"JobId":"JID",` +
		`"RetrievalByteRange":"0-1100754351","SHA256TreeHash":"` + hashA + `","SNSTopic":null,"StatusCode":"Succeeded",` +
		`"StatusMessage":"Succeeded","Tier":"Bulk","VaultARN":"arn:aws:glacier:us-east-1:1:vaults/v"}`
	for _, body := range []string{envelope(t, "Notification", archiveJob), archiveJob} {
		j, err := ParseJobNotification(body)
		if err != nil {
			t.Fatal(err)
		}
		if j.ID != "JID" || j.Action != ActionArchiveRetrieval || j.ArchiveID != "AID" || j.Status != StatusSucceeded ||
			!j.Completed || j.ArchiveSize != 1100754352 || j.RetrievalRange != "0-1100754351" || j.TreeHash != hashA ||
			j.ArchiveTreeHash != hashA || j.Tier != TierBulk || j.CompletedAt.IsZero() || j.Created.IsZero() {
			t.Errorf("job = %+v", j)
		}
	}
	j, err := ParseJobNotification(envelope(t, "Notification", dgNotification))
	if err != nil || j.Action != ActionInventoryRetrieval || j.InventorySize != 11693 || j.SNSTopic == "" || j.Description != "my retrieval job" {
		t.Fatalf("DG notification = %+v, %v", j, err)
	}

	bad := []string{
		``, `null`, `"text"`, `[1]`, `{}`,
		envelope(t, "SubscriptionConfirmation", dgNotification),
		envelope(t, "Notification", "hello"),
		envelope(t, "Notification", `{"JobId":"x"}`),
		`{"Type":"Notification"}`,
		`{"JobId":"J","Action":"Dance","StatusCode":"Succeeded"}`,
		`{"JobId":"J","Action":"ArchiveRetrieval","StatusCode":"Done"}`,
		`{"JobId":"J","Action":"ArchiveRetrieval","StatusCode":"Succeeded","ArchiveSizeInBytes":"big"}`,
	}
	for _, b := range bad {
		if _, err := ParseJobNotification(b); err == nil {
			t.Errorf("accepted %q", b)
		}
	}
}

func TestErrorHelpers(t *testing.T) {
	tests := []struct {
		err      error
		code     string
		notFound bool
	}{
		{&smithy.GenericAPIError{Code: "ResourceNotFoundException"}, "ResourceNotFoundException", true},
		{&smithy.GenericAPIError{Code: "AWS.SimpleQueueService.NonExistentQueue"}, "AWS.SimpleQueueService.NonExistentQueue", true},
		{&smithy.GenericAPIError{Code: "NotFound"}, "NotFound", true},
		{&smithy.GenericAPIError{Code: "InvalidParameterValueException"}, "InvalidParameterValueException", false},
		{errors.New("plain"), "", false},
		{nil, "", false},
	}
	for _, tc := range tests {
		wrapped := tc.err
		if wrapped != nil {
			wrapped = errors.Join(errors.New("vault v"), tc.err)
		}
		if got := Code(wrapped); got != tc.code {
			t.Errorf("Code(%v) = %q, want %q", tc.err, got, tc.code)
		}
		if got := IsNotFound(wrapped); got != tc.notFound {
			t.Errorf("IsNotFound(%v) = %v", tc.err, got)
		}
	}
}

func FuzzParseInventory(f *testing.F) {
	f.Add(dgInventory)
	f.Add(`{"VaultARN":"a","InventoryDate":"2011-12-12T14:19:01Z","ArchiveList":null}`)
	f.Add(`{"ArchiveList":[{}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := ParseInventory(strings.NewReader(s))
		if err != nil {
			return
		}
		if inv.VaultARN == "" || inv.Date.IsZero() && !strings.Contains(s, "0001-01-01") {
			t.Fatalf("accepted an inventory without ARN or date: %q", s)
		}
		for _, a := range inv.Archives {
			if a.ID == "" || a.Size < 0 || len(a.TreeHash) != 64 {
				t.Fatalf("accepted a bad archive %+v from %q", a, s)
			}
		}
	})
}

func FuzzParseInventoryCSV(f *testing.F) {
	f.Add("ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\nid,\"a,\\\"b\",2012-05-15T17:19:46.700Z,1," + hashA + "\n")
	f.Add("id,desc,2012-05-15T17:19:46.700Z,1," + hashA)
	f.Add(`"","","","",""`)
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := ParseInventoryCSV(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, a := range inv.Archives {
			if a.ID == "" || a.Size < 0 || len(a.TreeHash) != 64 || a.Created.IsZero() && !strings.Contains(s, "0001-01-01") {
				t.Fatalf("accepted a bad archive %+v from %q", a, s)
			}
		}
	})
}

func FuzzParseJobNotification(f *testing.F) {
	f.Add(dgNotification)
	f.Add(`{"Type":"Notification","Message":"{\"JobId\":\"J\",\"Action\":\"ArchiveRetrieval\",\"StatusCode\":\"Failed\"}"}`)
	f.Add(`{"Type":"SubscriptionConfirmation"}`)
	f.Fuzz(func(t *testing.T, s string) {
		j, err := ParseJobNotification(s)
		if err != nil {
			return
		}
		if j.ID == "" || j.Action == "" || j.Status == "" {
			t.Fatalf("accepted %q as job %+v", s, j)
		}
	})
}
