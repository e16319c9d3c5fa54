package dynamo

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wechatqr/shared/accounts"
	"wechatqr/shared/qr"
)

// The accounts table over DynamoDB Local: the conditions the registry relies on,
// and an account's token going with it.
func TestAccountsKeepTheirConditions(t *testing.T) {
	client, names := localTables(t)
	ctx := context.Background()
	a, err := NewAccounts(client, names["AccountsTable"], names["TokensTable"])
	if err != nil {
		t.Fatal(err)
	}
	it := accounts.Item{Account: accounts.Account{
		AppID: "wx1111111111111111", Name: "Shop", Kind: accounts.Direct, Status: accounts.Active,
		MessageMode: "safe", CreatedAt: time.Unix(1764810000, 0).UTC(),
	}, SealedCallback: []byte{1, 2, 3}, SealedAppSecret: []byte{4, 5}, Version: 1}
	if _, err := a.Account(ctx, it.AppID); qr.ErrorCode(err) != qr.EAccountNotFound {
		t.Fatalf("Account before any = %v, want account_not_found", err)
	}
	if err := a.CreateAccount(ctx, it); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateAccount(ctx, it); qr.ErrorCode(err) != qr.EConflict {
		t.Errorf("a second CreateAccount = %v, want conflict", err)
	}
	got, err := a.Account(ctx, it.AppID)
	if err != nil || !reflect.DeepEqual(got.Account, it.Account) || string(got.SealedCallback) != "\x01\x02\x03" || string(got.SealedAppSecret) != "\x04\x05" || got.Version != 1 {
		t.Fatalf("Account = %+v, %v; want %+v", got, err, it)
	}
	next := it
	next.Name, next.Version = "Shop 2", 2
	if err := a.UpdateAccount(ctx, next, 1); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateAccount(ctx, next, 1); qr.ErrorCode(err) != qr.EConflict {
		t.Errorf("an update over a changed version = %v, want conflict", err)
	}
	other := it
	other.AppID = "wx2222222222222222"
	if err := a.UpdateAccount(ctx, other, 1); qr.ErrorCode(err) != qr.EAccountNotFound {
		t.Errorf("an update of no account = %v, want account_not_found", err)
	}
	if err := a.CreateAccount(ctx, other); err != nil {
		t.Fatal(err)
	}
	list, err := a.Accounts(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "Shop 2" || list[1].AppID != other.AppID {
		t.Fatalf("Accounts = %+v, %v", list, err)
	}
	// The account's token goes with it.
	tokens, err := NewTokens(client, names["TokensTable"], it.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if err := tokens.Save(ctx, qr.AccessToken{Token: "T", ExpiresAt: time.Now().Add(time.Hour), Version: 1}, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteAccount(ctx, it.AppID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Account(ctx, it.AppID); qr.ErrorCode(err) != qr.EAccountNotFound {
		t.Errorf("Account after DeleteAccount = %v", err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(names["TokensTable"]), Key: tokens.key, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item != nil {
		t.Errorf("the deleted account's token is still there: %v, %v", out.Item != nil, err)
	}
}

// A failure to fetch is kept beside the token, and the next save clears it.
func TestTokenHealthKeepsTheLastFailureUntilASuccess(t *testing.T) {
	client, names := localTables(t)
	ctx := context.Background()
	tokens, err := NewTokens(client, names["TokensTable"], "wx1111111111111111")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1764810000, 0).UTC()
	if err := tokens.RecordFailure(ctx, "wechat: errcode 40125: invalid appsecret", at); err != nil {
		t.Fatal(err)
	}
	h, err := tokens.Health(ctx)
	if err != nil || h.LastError != "wechat: errcode 40125: invalid appsecret" || !h.LastErrorAt.Equal(at) || !h.RefreshedAt.IsZero() {
		t.Fatalf("Health = %+v, %v", h, err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	if err := tokens.Save(ctx, qr.AccessToken{Token: "T", ExpiresAt: exp, Version: 1}, 0); err != nil {
		t.Fatal(err)
	}
	h, err = tokens.Health(ctx)
	if err != nil || h.LastError != "" || h.RefreshedAt.IsZero() || !h.ExpiresAt.Equal(exp) {
		t.Errorf("Health after a save = %+v, %v; want the failure cleared", h, err)
	}
}

// A removed account's data is erased in steps: each call deletes what its pages
// found and answers a cursor until both tables were read; the other accounts'
// items stay.
func TestEraseAccountDataGoesOnFromItsCursor(t *testing.T) {
	client, names := localTables(t)
	ctx := context.Background()
	store, err := New(client, Tables{Scenes: names["ScenesTable"], Events: names["EventsTable"]}, Options{DefaultAppID: "wxaaaaaaaaaaaaaaaa"})
	if err != nil {
		t.Fatal(err)
	}
	b, other := store.Account("wxbbbbbbbbbbbbbbbb"), store.Account("wxcccccccccccccccc")
	for i := range 6 {
		for _, s := range []*Store{store, b, other} {
			if err := s.PutCode(ctx, &qr.Code{Scene: "s" + string(rune('0'+i)), ActionName: "QR_LIMIT_STR_SCENE", Permanent: true, CreatedAt: time.Unix(1764810000, 0)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, _, err := store.EraseAccountData(ctx, "", time.Now().Add(time.Minute)); err == nil {
		t.Fatal("the default account's data was erased as a whole")
	}
	defer func(n int32) { eraseScanPage = n }(eraseScanPage)
	eraseScanPage = 4
	total, cursor, calls := 0, "", 0
	for {
		// A deadline already past: one page a call.
		n, next, err := b.EraseAccountData(ctx, cursor, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		total, cursor, calls = total+n, next, calls+1
		if next == "" {
			break
		}
		if calls > 20 {
			t.Fatal("the cursor never ends")
		}
	}
	if total != 6 || calls < 2 {
		t.Errorf("deleted %d items in %d calls, want 6 in several", total, calls)
	}
	for _, tt := range []struct {
		s    *Store
		want int
	}{{store, 6}, {b, 0}, {other, 6}} {
		codes, _, err := tt.s.ListCodes(ctx, "", 100)
		if err != nil || len(codes) != tt.want {
			t.Errorf("%s lists %d codes (%v), want %d", tt.s.AppID(), len(codes), err, tt.want)
		}
	}
	if _, _, err := b.EraseAccountData(ctx, "bm9uc2Vuc2U", time.Now()); qr.ErrorCode(err) != qr.EInvalid {
		t.Errorf("a cursor of nonsense: %v, want invalid", err)
	}
}
