package sim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
	"github.com/aws/aws-sdk-go-v2/service/glacier/types"
)

func TestVaultNames(t *testing.T) {
	h := newHarness(t, Options{})
	tests := []struct {
		name string
		ok   bool
	}{
		{"photos", true},
		{"a-b_c.d-2024", true},
		{"A", true},
		{strings.Repeat("v", 255), true},
		{strings.Repeat("v", 256), false},
		{"bad name", false},
		{"bad*name", false},
		{"bad:name", false},
		{"ümlaut", false},
		{"semi;colon", false},
		{".", false},
		{"..", false},
		{"...", true},
	}
	for _, tt := range tests {
		t.Run(tt.name[:min(len(tt.name), 20)], func(t *testing.T) {
			out, err := h.gl.CreateVault(ctx(t), &glacier.CreateVaultInput{AccountId: aws.String("-"), VaultName: aws.String(tt.name)})
			if !tt.ok {
				wantAPIError(t, err, "InvalidParameterValueException", 400, "Invalid vault name")
				return
			}
			if err != nil {
				t.Fatalf("CreateVault: %v", err)
			}
			if got, want := aws.ToString(out.Location), "/123456789012/vaults/"+tt.name; got != want {
				t.Errorf("Location = %q, want %q (real account id even for '-')", got, want)
			}
		})
	}
}

func TestCreateDescribeDeleteVault(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("photos")
	h.createVault("photos") // idempotent
	out, err := h.gl.DescribeVault(ctx(t), &glacier.DescribeVaultInput{AccountId: aws.String("-"), VaultName: aws.String("photos")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.VaultARN) != "arn:aws:glacier:us-east-1:123456789012:vaults/photos" || aws.ToString(out.VaultName) != "photos" {
		t.Errorf("DescribeVault = %+v", out)
	}
	if out.LastInventoryDate != nil || out.NumberOfArchives != 0 || out.SizeInBytes != 0 {
		t.Errorf("fresh vault: LastInventoryDate %v, %d archives, %d bytes; want null, 0, 0", out.LastInventoryDate, out.NumberOfArchives, out.SizeInBytes)
	}
	if got, want := aws.ToString(out.CreationDate), "2025-03-01T12:00:00.000Z"; got != want {
		t.Errorf("CreationDate = %s, want %s", got, want)
	}
	// The account id may be given explicitly; another account is refused.
	if _, err := h.gl.DescribeVault(ctx(t), &glacier.DescribeVaultInput{AccountId: aws.String("123456789012"), VaultName: aws.String("photos")}); err != nil {
		t.Errorf("DescribeVault with the account id: %v", err)
	}
	_, err = h.gl.DescribeVault(ctx(t), &glacier.DescribeVaultInput{AccountId: aws.String("999999999999"), VaultName: aws.String("photos")})
	wantAPIError(t, err, "AccessDeniedException", 403, "")

	if _, err := h.gl.DeleteVault(ctx(t), &glacier.DeleteVaultInput{AccountId: aws.String("-"), VaultName: aws.String("photos")}); err != nil {
		t.Fatalf("DeleteVault of a never-written vault: %v", err)
	}
	_, err = h.gl.DescribeVault(ctx(t), &glacier.DescribeVaultInput{AccountId: aws.String("-"), VaultName: aws.String("photos")})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "Vault not found for ARN: arn:aws:glacier:us-east-1:123456789012:vaults/photos")
	_, err = h.gl.DeleteVault(ctx(t), &glacier.DeleteVaultInput{AccountId: aws.String("-"), VaultName: aws.String("photos")})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "")
}

func TestDescribeVaultRawJSON(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("raw")
	req := h.signedRequest(http.MethodGet, "/-/vaults/raw", nil, nil)
	resp, body := h.rawDo(req)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	want := `{"CreationDate":"2025-03-01T12:00:00.000Z","LastInventoryDate":null,"NumberOfArchives":0,"SizeInBytes":0,` +
		`"VaultARN":"arn:aws:glacier:us-east-1:123456789012:vaults/raw","VaultName":"raw"}`
	if string(body) != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
	if resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("x-amzn-RequestId") == "" || resp.Header.Get("Date") == "" {
		t.Errorf("headers: %v", resp.Header)
	}
}

func TestListVaultsPagination(t *testing.T) {
	h := newHarness(t, Options{})
	var want []string
	for i := 0; i < 23; i++ {
		name := fmt.Sprintf("vault-%02d", i)
		want = append(want, name)
		h.createVault(name)
	}
	var got []string
	var marker *string
	pages := 0
	for {
		out, err := h.gl.ListVaults(ctx(t), &glacier.ListVaultsInput{AccountId: aws.String("-"), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.VaultList) > 10 {
			t.Fatalf("page of %d vaults; the default limit is 10", len(out.VaultList))
		}
		for _, v := range out.VaultList {
			got = append(got, aws.ToString(v.VaultName))
		}
		if out.Marker == nil {
			break
		}
		marker = out.Marker
	}
	if pages != 3 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%d pages, vaults %v", pages, got)
	}

	// The SDK paginator with an explicit limit.
	p := glacier.NewListVaultsPaginator(h.gl, &glacier.ListVaultsInput{AccountId: aws.String("-"), Limit: aws.Int32(4)})
	n := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(out.VaultList) > 4 {
			t.Fatalf("page of %d with limit 4", len(out.VaultList))
		}
		n += len(out.VaultList)
	}
	if n != 23 {
		t.Errorf("paginator saw %d vaults, want 23", n)
	}

	for _, bad := range []int32{11, 0, -1} {
		_, err := h.gl.ListVaults(ctx(t), &glacier.ListVaultsInput{AccountId: aws.String("-"), Limit: aws.Int32(bad)})
		wantAPIError(t, err, "InvalidParameterValueException", 400, "Invalid limit")
	}
	_, err := h.gl.ListVaults(ctx(t), &glacier.ListVaultsInput{AccountId: aws.String("-"), Marker: aws.String("garbage")})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "Invalid marker")
}

func TestDeleteVaultRules(t *testing.T) {
	h := newHarness(t, Options{InventoryInterval: DefaultInventoryInterval})
	h.createVault("v")
	id := h.upload("v", []byte("some archive"), "")
	del := func() error {
		_, err := h.gl.DeleteVault(ctx(t), &glacier.DeleteVaultInput{AccountId: aws.String("-"), VaultName: aws.String("v")})
		return err
	}
	const msg = "Vault not empty or recently written to: arn:aws:glacier:us-east-1:123456789012:vaults/v"
	wantAPIError(t, del(), "InvalidParameterValueException", 400, msg)

	// The archive is gone, but the inventory still lists it and the vault
	// was written since.
	if _, err := h.gl.DeleteArchive(ctx(t), &glacier.DeleteArchiveInput{AccountId: aws.String("-"), VaultName: aws.String("v"), ArchiveId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, del(), "InvalidParameterValueException", 400, msg)

	// The next daily inventory sees the vault empty.
	h.clock.Advance(24*time.Hour + time.Second)
	if err := del(); err != nil {
		t.Fatalf("DeleteVault after the inventory caught up: %v", err)
	}
}

func TestDeleteVaultAfterForcedInventory(t *testing.T) {
	h := newHarness(t, Options{InventoryInterval: DefaultInventoryInterval})
	h.createVault("v")
	id := h.upload("v", []byte("x"), "")
	if err := h.sim.ForceInventory("v"); err != nil {
		t.Fatal(err)
	}
	_, err := h.gl.DeleteVault(ctx(t), &glacier.DeleteVaultInput{AccountId: aws.String("-"), VaultName: aws.String("v")})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "Vault not empty")
	if _, err := h.gl.DeleteArchive(ctx(t), &glacier.DeleteArchiveInput{AccountId: aws.String("-"), VaultName: aws.String("v"), ArchiveId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	// Over HTTP, as a test of another package would.
	resp, body := h.rawDo(mustRequest(t, http.MethodPost, h.srv.URL+"/_sim/inventory?vault=v", nil))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /_sim/inventory: %d %s", resp.StatusCode, body)
	}
	if _, err := h.gl.DeleteVault(ctx(t), &glacier.DeleteVaultInput{AccountId: aws.String("-"), VaultName: aws.String("v")}); err != nil {
		t.Fatalf("DeleteVault: %v", err)
	}
}

func TestVaultNotifications(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	topic := h.createTopic("glacier-jobs")
	get := func() (*glacier.GetVaultNotificationsOutput, error) {
		return h.gl.GetVaultNotifications(ctx(t), &glacier.GetVaultNotificationsInput{AccountId: aws.String("-"), VaultName: aws.String("v")})
	}
	_, err := get()
	wantAPIError(t, err, "ResourceNotFoundException", 404, "")

	set := func(topic string, events ...string) error {
		_, err := h.gl.SetVaultNotifications(ctx(t), &glacier.SetVaultNotificationsInput{
			AccountId: aws.String("-"), VaultName: aws.String("v"),
			VaultNotificationConfig: &types.VaultNotificationConfig{SNSTopic: aws.String(topic), Events: events},
		})
		return err
	}
	wantAPIError(t, set(topic, "ArchiveRetrievalCompleted", "Bogus"), "InvalidParameterValueException", 400, "Invalid event")
	wantAPIError(t, set("arn:aws:sns:us-east-1:123456789012:nope", "ArchiveRetrievalCompleted"), "InvalidParameterValueException", 400, "does not exist")
	if err := set(topic, "ArchiveRetrievalCompleted", "InventoryRetrievalCompleted"); err != nil {
		t.Fatal(err)
	}
	out, err := get()
	if err != nil {
		t.Fatal(err)
	}
	cfg := out.VaultNotificationConfig
	if aws.ToString(cfg.SNSTopic) != topic || len(cfg.Events) != 2 {
		t.Errorf("GetVaultNotifications = %+v", cfg)
	}
	if _, err := h.gl.DeleteVaultNotifications(ctx(t), &glacier.DeleteVaultNotificationsInput{AccountId: aws.String("-"), VaultName: aws.String("v")}); err != nil {
		t.Fatal(err)
	}
	_, err = get()
	wantAPIError(t, err, "ResourceNotFoundException", 404, "")
}
