package moto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Region is the region of the clients this package builds, the one the functions run in.
const Region = "us-east-1"

// Config is an SDK configuration for the server: Region and dummy credentials, no shared
// config, so a developer's AWS profile cannot send a request elsewhere. Point a client at the
// server with BaseEndpoint = Endpoint().
func (s *Server) Config() aws.Config {
	return aws.Config{Region: Region, Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
}

// SQS is an SQS client for the server.
func (s *Server) SQS() *sqs.Client {
	return sqs.NewFromConfig(s.Config(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(s.endpoint) })
}

// EventBridge is an EventBridge client for the server.
func (s *Server) EventBridge() *eventbridge.Client {
	return eventbridge.NewFromConfig(s.Config(), func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(s.endpoint) })
}

// KMS is a KMS client for the server.
func (s *Server) KMS() *kms.Client {
	return kms.NewFromConfig(s.Config(), func(o *kms.Options) { o.BaseEndpoint = aws.String(s.endpoint) })
}

// Queue is an SQS queue on the server.
type Queue struct {
	Name, URL, ARN string
	client         *sqs.Client
}

// CreateQueue creates a standard queue (or finds the one of that name) with the template's
// settings that matter locally: 14 days' retention.
func (s *Server) CreateQueue(ctx context.Context, name string) (*Queue, error) {
	client := s.SQS()
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(name),
		Attributes: map[string]string{string(sqstypes.QueueAttributeNameMessageRetentionPeriod): strconv.Itoa(14 * 24 * 3600)},
	})
	if err != nil {
		return nil, fmt.Errorf("moto: creating queue %s: %w", name, err)
	}
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return nil, fmt.Errorf("moto: queue %s: %w", name, err)
	}
	return &Queue{Name: name, URL: aws.ToString(out.QueueUrl), ARN: attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], client: client}, nil
}

// Send puts one message on the queue (the shape of a Lambda on-failure destination).
func (q *Queue) Send(ctx context.Context, body []byte) error {
	_, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(body))})
	if err != nil {
		return fmt.Errorf("moto: sending to %s: %w", q.Name, err)
	}
	return nil
}

// Drain receives every message visible now and deletes it, oldest first as far as SQS tells:
// each message is returned by one Drain only.
func (q *Queue) Drain(ctx context.Context) ([]string, error) {
	var bodies []string
	for {
		out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30,
		})
		if err != nil {
			return bodies, fmt.Errorf("moto: receiving from %s: %w", q.Name, err)
		}
		if len(out.Messages) == 0 {
			return bodies, nil
		}
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, 0, len(out.Messages))
		for i, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if _, err := q.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries}); err != nil {
			return bodies, fmt.Errorf("moto: deleting from %s: %w", q.Name, err)
		}
	}
}

// RouteEvents makes what is published on bus with source reach q: it creates the bus unless it
// is the account's "default", a rule on it matching the source, and q as the rule's target
// (moto delivers each matching event to the queue as its JSON).
func (s *Server) RouteEvents(ctx context.Context, bus, source string, q *Queue) error {
	client := s.EventBridge()
	if bus != "default" {
		_, err := client.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)})
		var exists *ebtypes.ResourceAlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("moto: creating bus %s: %w", bus, err)
		}
	}
	pattern, _ := json.Marshal(map[string][]string{"source": {source}})
	rule := "to-" + q.Name
	if _, err := client.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String(rule), EventBusName: aws.String(bus), EventPattern: aws.String(string(pattern)), State: ebtypes.RuleStateEnabled,
	}); err != nil {
		return fmt.Errorf("moto: rule on %s: %w", bus, err)
	}
	if _, err := client.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String(rule), EventBusName: aws.String(bus), Targets: []ebtypes.Target{{Id: aws.String(q.Name), Arn: aws.String(q.ARN)}},
	}); err != nil {
		return fmt.Errorf("moto: target of %s: %w", rule, err)
	}
	return nil
}
