package streams_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/local/streams"
)

// signaller is a function that tells when it was invoked.
type signaller chan struct{}

func (s signaller) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	s <- struct{}{}
	return nil, nil
}

// BenchmarkStreamDelivery measures the time from a scan record's PutItem returning to the
// function being invoked with it, through DynamoDB Local's stream: with the template's 1 s
// batching window and Lambda's pace of four polls a second, and without a window.
//
//	go test ./local/streams -run '^$' -bench StreamDelivery -benchtime 10x
func BenchmarkStreamDelivery(b *testing.B) {
	for _, window := range []time.Duration{time.Second, 0} {
		b.Run(fmt.Sprintf("window=%v", window), func(b *testing.B) {
			ddb, names := dynamotest.Tables(b, nil, "EventsTable")
			f := &fixture{ddb: ddb, table: names["EventsTable"]}
			desc, err := ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(f.table)})
			if err != nil {
				b.Fatal(err)
			}
			got := make(signaller, 1)
			m, err := streams.Start(context.Background(), streams.Client(dynamotest.Server(b).Endpoint(), "us-east-1"), got, streams.Config{
				StreamARN: *desc.Table.LatestStreamArn, Filters: []string{scanFilter}, BatchingWindow: window,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			b.ResetTimer()
			for i := range b.N {
				item := map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: "user#bench"},
					"sk": &types.AttributeValueMemberS{Value: fmt.Sprintf("scan#%010d#SCAN#bench", i)},
				}
				if _, err := ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: item}); err != nil {
					b.Fatal(err)
				}
				<-got
			}
		})
	}
}
