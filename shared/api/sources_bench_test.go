package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/shared/api"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
)

// readMeter asks DynamoDB for the consumed capacity of every read the store
// makes, and adds it up with the requests.
type readMeter struct {
	dynamo.API
	mu       sync.Mutex
	units    float64
	requests int
}

func (m *readMeter) add(ccs ...types.ConsumedCapacity) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests++
	for _, cc := range ccs {
		m.units += aws.ToFloat64(cc.CapacityUnits)
	}
}

func (m *readMeter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.BatchGetItem(ctx, in, o...)
	if err == nil {
		m.add(out.ConsumedCapacity...)
	}
	return out, err
}

func (m *readMeter) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.Query(ctx, in, o...)
	if err == nil && out.ConsumedCapacity != nil {
		m.add(*out.ConsumedCapacity)
	}
	return out, err
}

// BenchmarkSourcesRanking is GET /stats/sources over one account whose every
// code was scanned: each scene's registry item and, on one of its counter
// shards, its totals and one day, written in the stored formats. It reports the
// ranking's wall time, DynamoDB requests and read units (as DynamoDB Local
// reports them: on-demand DynamoDB bills the same rule) per run and per scene.
// SOURCES_SCENES sets the scenes (default 2,000; writing them takes a while).
//
//	SOURCES_SCENES=20000 go test ./shared/api -run '^$' -bench SourcesRanking -benchtime 1x
func BenchmarkSourcesRanking(b *testing.B) {
	n := 2000
	if v := os.Getenv("SOURCES_SCENES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("SOURCES_SCENES=%q", v)
		}
	}
	client, names := dynamotest.Tables(b, nil)
	ctx := context.Background()
	day := qr.DayOf(time.Now())
	var batch []types.WriteRequest
	flush := func() {
		for len(batch) > 0 {
			out, err := client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{names["ScenesTable"]: batch}})
			if err != nil {
				b.Fatal(err)
			}
			batch = out.UnprocessedItems[names["ScenesTable"]]
		}
	}
	put := func(item map[string]types.AttributeValue) {
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) == 25 {
			flush()
		}
	}
	str := func(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
	num := func(n int) types.AttributeValue { return &types.AttributeValueMemberN{Value: strconv.Itoa(n)} }
	for i := range n {
		scene := fmt.Sprintf("scene-%06d", i)
		put(map[string]types.AttributeValue{"pk": str("scene#" + scene), "sk": str("registry"), "scene": str(scene), "first_seen": num(1764800000), "list_pk": str("scene"), "list_sk": str(scene)})
		for _, sk := range []string{"total", "day#" + day} {
			put(map[string]types.AttributeValue{"pk": str("stats#" + scene + "#" + strconv.Itoa(i%dynamo.DefaultShards)), "sk": str(sk),
				"scans": num(i%7 + 1), "subscribes": num(i % 5), "unique_users": num(i%7 + 1), "unsubscribes": num(0)})
		}
	}
	flush()

	meter := &readMeter{API: client}
	store, err := dynamo.New(meter, dynamo.Tables{Scenes: names["ScenesTable"], Events: names["EventsTable"]}, dynamo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	wc, err := wechat.NewClient("http://127.0.0.1:1", "wx5823bf96d3bd56c7", "unused")
	if err != nil {
		b.Fatal(err)
	}
	h, err := api.New(api.Config{}, store, wc, token.NewSource(nil, nil, token.Options{}), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		meter.mu.Lock()
		meter.units, meter.requests = 0, 0
		meter.mu.Unlock()
		start := time.Now()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/stats/sources?from="+day+"&to="+day+"&limit=50", nil))
		wall := time.Since(start)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		b.ReportMetric(float64(wall.Milliseconds()), "ms/ranking")
		b.ReportMetric(float64(meter.requests), "requests/ranking")
		b.ReportMetric(meter.units, "RRU/ranking")
		b.ReportMetric(meter.units/float64(n), "RRU/scene")
		b.ReportMetric(float64(wall.Microseconds())/float64(n), "µs/scene")
	}
}
