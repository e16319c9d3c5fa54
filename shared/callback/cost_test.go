package callback_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/callback"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// meter is the store's DynamoDB client asking for ReturnConsumedCapacity on every
// call and adding up what DynamoDB Local reports. DynamoDB Local counts an item
// written in TransactWriteItems like a plain write; DynamoDB charges twice that
// (docs/performance.md, "Request units per push"), so transactional write units are kept apart.
type meter struct {
	db dynamo.API
	mu sync.Mutex
	u  units
}

// units are read and write request units: reads as DynamoDB Local reports them and
// as DynamoDB bills them (every key asked, found or not: ½ unit eventually
// consistent, 1 strongly consistent, per 4 KB), plain writes, and the units
// DynamoDB Local reports for transactional writes (which DynamoDB bills twice).
//
// modelWrite is what DynamoDB bills the transactions by its published rule, from
// the items sent: 2 units per started KB of each item (a Put's size counted
// here, an Update's or a Delete's item, always a counter or a small marker,
// taken as one KB). DynamoDB Local's own figure is printed beside it.
type units struct{ read, billedRead, write, txWrite, modelWrite float64 }

// billed is what on-demand DynamoDB charges for u: transactional items twice.
func (u units) billedWrites() float64 { return u.write + 2*u.txWrite }

func (m *meter) take() units {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.u
	m.u = units{}
	return u
}

func (m *meter) add(tx bool, ccs ...types.ConsumedCapacity) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, cc := range ccs {
		r, w := deref(cc.ReadCapacityUnits), deref(cc.WriteCapacityUnits)
		if r == 0 && w == 0 { // some calls report only the total
			if tx {
				w = deref(cc.CapacityUnits)
			} else {
				r = deref(cc.CapacityUnits)
			}
		}
		m.u.read += r
		if tx {
			m.u.txWrite += w
		} else {
			m.u.write += w
		}
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func ptr(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
	if cc == nil {
		return nil
	}
	return []types.ConsumedCapacity{*cc}
}

const total = types.ReturnConsumedCapacityTotal

func (m *meter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.db.GetItem(ctx, in, o...)
	if err == nil {
		m.add(false, ptr(out.ConsumedCapacity)...)
	}
	return out, err
}

func (m *meter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.db.PutItem(ctx, in, o...)
	if err == nil {
		m.add(false, ptr(out.ConsumedCapacity)...)
	}
	return out, err
}

func (m *meter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.db.UpdateItem(ctx, in, o...)
	if err == nil {
		m.add(false, ptr(out.ConsumedCapacity)...)
	}
	return out, err
}

func (m *meter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.db.DeleteItem(ctx, in, o...)
	if err == nil {
		m.add(false, ptr(out.ConsumedCapacity)...)
	}
	return out, err
}

func (m *meter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.db.BatchGetItem(ctx, in, o...)
	if err == nil {
		m.add(false, out.ConsumedCapacity...)
		billed := 0.0
		for _, ka := range in.RequestItems { // every item here is under 4 KB
			per := 0.5
			if ka.ConsistentRead != nil && *ka.ConsistentRead {
				per = 1
			}
			billed += per * float64(len(ka.Keys))
		}
		m.mu.Lock()
		m.u.billedRead += billed
		m.mu.Unlock()
	}
	return out, err
}

func (m *meter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.db.BatchWriteItem(ctx, in, o...)
	if err == nil {
		m.add(false, out.ConsumedCapacity...)
	}
	return out, err
}

func (m *meter) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.db.Scan(ctx, in, o...)
	if err == nil && out.ConsumedCapacity != nil {
		m.add(false, *out.ConsumedCapacity)
	}
	return out, err
}

func (m *meter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.db.TransactWriteItems(ctx, in, o...)
	if err == nil {
		m.add(true, out.ConsumedCapacity...)
		model := 0.0
		for _, ti := range in.TransactItems {
			kb := 1
			if ti.Put != nil {
				kb = (itemSize(ti.Put.Item) + 1023) / 1024
			}
			model += 2 * float64(kb)
		}
		m.mu.Lock()
		m.u.modelWrite += model
		m.mu.Unlock()
	}
	return out, err
}

// itemSize is an item's size as DynamoDB counts it: names and values, numbers
// taken at their decimal length (a little over DynamoDB's own count).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberM:
		n := 3
		for name, e := range v.Value {
			n += len(name) + valueSize(e) + 1
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += valueSize(e) + 1
		}
		return n
	}
	return 1
}

func (m *meter) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.db.Query(ctx, in, o...)
	if err == nil {
		m.add(false, ptr(out.ConsumedCapacity)...)
	}
	return out, err
}

// TestCapacityUnitsPerPush measures the request units each kind of push costs, on
// its first delivery and on a retry, with a short reply and with the longest text
// WeChat takes. It prints them (docs/performance.md, "Request units per push"); it asserts only what is
// structural: a retry reads and writes nothing but its lookup, and a first
// delivery writes in one transaction. Run:
//
//	go test ./shared/callback -run TestCapacityUnitsPerPush -v
func TestCapacityUnitsPerPush(t *testing.T) {
	for _, reply := range []struct {
		name    string
		content string
	}{
		{"short reply", "Answer: a map"},
		{"2048-byte reply", strings.Repeat("答", 682) + "ab"},
	} {
		t.Run(reply.name, func(t *testing.T) {
			f := newFixture(t)
			m := &meter{db: f.db}
			store, err := dynamo.New(m, f.names, dynamo.Options{})
			if err != nil {
				t.Fatal(err)
			}
			cipher, err := wechat.NewCipher(aesKey, appID)
			if err != nil {
				t.Fatal(err)
			}
			h, err := callback.New(callback.Config{
				AppID: appID, Token: token, Cipher: cipher, MessageMode: callback.Plaintext, Tolerance: callback.DefaultTolerance,
				Now: func() time.Time { return now },
			}, store, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			f.h = h
			f.putCode(t, "riddle-1", qr.TextReply(reply.content))
			m.take()
			var safeScan units // the returning scanner's first delivery in safe mode
			for i, p := range []struct {
				name  string
				inner []byte
			}{
				{"new follower (subscribe)", signer.SubscribeXML(openID, "riddle-1", now.Unix(), "T")},
				{"returning scanner (SCAN)", signer.ScanXML(openID, "riddle-1", now.Unix()+1, "T")},
				{"unsubscribe", signer.UnsubscribeXML(openID, now.Unix()+2)},
			} {
				var first units
				for delivery := range 2 {
					start := time.Now()
					if w := f.push(t, p.inner, wechattest.Safe); w.Code != 200 {
						t.Fatalf("%s: %d %s", p.name, w.Code, w.Body)
					}
					took := time.Since(start)
					u := m.take()
					kind := "first delivery"
					if delivery == 0 {
						first = u
						if i == 1 {
							safeScan = u
						}
						if u.txWrite == 0 || u.write != 0 {
							t.Errorf("%s: first delivery wrote %+v, want one transaction and nothing else", p.name, u)
						}
					} else {
						kind = "retry"
						if u.write != 0 || u.txWrite != 0 || u.modelWrite != 0 || u.billedRead != first.billedRead {
							t.Errorf("%s: retry used %+v, want the first's lookup (%v read units) and no writes", p.name, u, first.billedRead)
						}
					}
					t.Logf("%d %-26s %-14s %5.1f ms | DynamoDB Local: read %3.1f, write %4.1f (transactional %4.1f) | billed: read %3.1f RRU, write %4.1f WRU (Local's ×2), %4.1f WRU (per item)",
						i+1, p.name, kind, float64(took.Microseconds())/1000, u.read, u.write+u.txWrite, u.txWrite, u.billedRead, u.billedWrites(), u.modelWrite)
				}
			}
			// A plain push also reads its query signature's record with the claim
			// (1 strongly consistent read unit) and writes it in the transaction:
			// one more small item, 2 write units (docs/performance.md).
			if w := f.push(t, signer.ScanXML(openID, "riddle-1", now.Unix()+3, "T"), wechattest.Plaintext); w.Code != 200 {
				t.Fatal(w.Code, w.Body)
			}
			if u := m.take(); u.modelWrite != safeScan.modelWrite+2 || u.billedRead != safeScan.billedRead+1 {
				t.Errorf("plain SCAN, first delivery: read %v, write %v units (per item); want the safe one's %v + 1 and %v + 2 for the signature",
					u.billedRead, u.modelWrite, safeScan.billedRead, safeScan.modelWrite)
			} else {
				t.Logf("plain SCAN first delivery: billed read %3.1f RRU, write %4.1f WRU (per item); the safe one %3.1f and %4.1f", u.billedRead, u.modelWrite, safeScan.billedRead, safeScan.modelWrite)
			}
			// The handler's time on a warm path, for Lambda's GB-seconds: the median
			// of first deliveries of SCAN against DynamoDB Local on loopback (a
			// figure, not a check).
			var took []time.Duration
			for i := range 31 {
				start := time.Now()
				if w := f.push(t, signer.ScanXML(openID, "riddle-1", now.Unix()+10+int64(i), "T"), wechattest.Safe); w.Code != 200 {
					t.Fatal(w.Code, w.Body)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			t.Logf("warm SCAN first delivery, median of %d: %v (fastest %v, slowest %v)", len(took), took[len(took)/2], took[0], took[len(took)-1])
		})
	}
}
