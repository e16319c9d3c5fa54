package streams

import (
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// eventRecord turns a record as GetRecords returns it into the record Lambda puts in a
// DynamoDBEvent: the same fields under Lambda's JSON names, and the stream's ARN as
// eventSourceARN.
func eventRecord(r types.Record, streamARN string) (events.DynamoDBEventRecord, error) {
	out := events.DynamoDBEventRecord{
		AWSRegion:      aws.ToString(r.AwsRegion),
		EventID:        aws.ToString(r.EventID),
		EventName:      string(r.EventName),
		EventSource:    aws.ToString(r.EventSource),
		EventVersion:   aws.ToString(r.EventVersion),
		EventSourceArn: streamARN,
	}
	if id := r.UserIdentity; id != nil {
		out.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(id.Type), PrincipalID: aws.ToString(id.PrincipalId)}
	}
	d := r.Dynamodb
	if d == nil {
		return out, fmt.Errorf("streams: record %s has no dynamodb part", out.EventID)
	}
	var err error
	if out.Change.Keys, err = image(d.Keys); err != nil {
		return out, err
	}
	if out.Change.NewImage, err = image(d.NewImage); err != nil {
		return out, err
	}
	if out.Change.OldImage, err = image(d.OldImage); err != nil {
		return out, err
	}
	if d.ApproximateCreationDateTime != nil {
		out.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
	}
	out.Change.SequenceNumber = aws.ToString(d.SequenceNumber)
	out.Change.SizeBytes = aws.ToInt64(d.SizeBytes)
	out.Change.StreamViewType = string(d.StreamViewType)
	return out, nil
}

func image(m map[string]types.AttributeValue) (map[string]events.DynamoDBAttributeValue, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		av, err := attribute(v)
		if err != nil {
			return nil, fmt.Errorf("streams: attribute %q: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func attribute(v types.AttributeValue) (events.DynamoDBAttributeValue, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value), nil
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value), nil
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value), nil
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value), nil
	case *types.AttributeValueMemberNULL:
		return events.NewNullAttribute(), nil
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value), nil
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value), nil
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value), nil
	case *types.AttributeValueMemberL:
		list := make([]events.DynamoDBAttributeValue, 0, len(v.Value))
		for _, e := range v.Value {
			av, err := attribute(e)
			if err != nil {
				return events.DynamoDBAttributeValue{}, err
			}
			list = append(list, av)
		}
		return events.NewListAttribute(list), nil
	case *types.AttributeValueMemberM:
		m, err := image(v.Value)
		if err != nil {
			return events.DynamoDBAttributeValue{}, err
		}
		return events.NewMapAttribute(m), nil
	}
	return events.DynamoDBAttributeValue{}, fmt.Errorf("unknown attribute type %T", v)
}
