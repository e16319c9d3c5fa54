package cfn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.yaml.in/yaml/v3"
)

// Table is an AWS::DynamoDB::Table resource: what CreateTable and UpdateTimeToLive need.
type Table struct {
	LogicalID              string
	BillingMode            string // as declared; CreateTables always creates on-demand tables
	AttributeDefinitions   []types.AttributeDefinition
	KeySchema              []types.KeySchemaElement
	GlobalSecondaryIndexes []types.GlobalSecondaryIndex // without throughput settings
	LocalSecondaryIndexes  []types.LocalSecondaryIndex
	TTLAttribute           string // TimeToLiveSpecification.AttributeName, "" when absent
	TTLEnabled             bool
	StreamViewType         types.StreamViewType // "" when the table has no stream
	PointInTimeRecovery    bool
}

type keyElem struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

type projection struct {
	ProjectionType   string   `yaml:"ProjectionType"`
	NonKeyAttributes []string `yaml:"NonKeyAttributes"`
}

type index struct {
	IndexName  string     `yaml:"IndexName"`
	KeySchema  []keyElem  `yaml:"KeySchema"`
	Projection projection `yaml:"Projection"`
}

type tableProps struct {
	BillingMode          string `yaml:"BillingMode"`
	AttributeDefinitions []struct {
		AttributeName string `yaml:"AttributeName"`
		AttributeType string `yaml:"AttributeType"`
	} `yaml:"AttributeDefinitions"`
	KeySchema               []keyElem `yaml:"KeySchema"`
	GlobalSecondaryIndexes  []index   `yaml:"GlobalSecondaryIndexes"`
	LocalSecondaryIndexes   []index   `yaml:"LocalSecondaryIndexes"`
	TimeToLiveSpecification *struct {
		AttributeName string `yaml:"AttributeName"`
		Enabled       bool   `yaml:"Enabled"`
	} `yaml:"TimeToLiveSpecification"`
	StreamSpecification *struct {
		StreamViewType string `yaml:"StreamViewType"`
	} `yaml:"StreamSpecification"`
	PointInTimeRecoverySpecification *struct {
		PointInTimeRecoveryEnabled bool `yaml:"PointInTimeRecoveryEnabled"`
	} `yaml:"PointInTimeRecoverySpecification"`
}

// literalKeys are the table properties this package reads, which must be literals: a table's
// shape cannot depend on a parameter or condition that local runs do not evaluate.
var literalKeys = []string{
	"BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes",
	"LocalSecondaryIndexes", "TimeToLiveSpecification", "StreamSpecification",
	"PointInTimeRecoverySpecification",
}

func table(id string, props *yaml.Node) (Table, error) {
	for _, p := range pairs(props) {
		for _, k := range literalKeys {
			if p.key != k {
				continue
			}
			if v, line, ok := intrinsicIn(p.value); ok {
				return Table{}, fmt.Errorf("line %d: %s: %s: a table's shape must be literal: %w", line, k, v, ErrUnresolved)
			}
		}
	}
	var p tableProps
	if err := props.Decode(&p); err != nil {
		return Table{}, err
	}
	t := Table{LogicalID: id, BillingMode: p.BillingMode}
	defined := map[string]bool{}
	for _, a := range p.AttributeDefinitions {
		t.AttributeDefinitions = append(t.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: types.ScalarAttributeType(a.AttributeType),
		})
		defined[a.AttributeName] = true
	}
	keys := func(what string, ks []keyElem) ([]types.KeySchemaElement, error) {
		var out []types.KeySchemaElement
		hashes := 0
		for _, k := range ks {
			if !defined[k.AttributeName] {
				return nil, fmt.Errorf("%s: key %q is not in AttributeDefinitions", what, k.AttributeName)
			}
			if k.KeyType == string(types.KeyTypeHash) {
				hashes++
			}
			out = append(out, types.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)})
		}
		if hashes != 1 {
			return nil, fmt.Errorf("%s: want one HASH key, found %d", what, hashes)
		}
		return out, nil
	}
	var err error
	if t.KeySchema, err = keys("KeySchema", p.KeySchema); err != nil {
		return Table{}, err
	}
	for _, ix := range p.GlobalSecondaryIndexes {
		ks, err := keys("GlobalSecondaryIndexes "+ix.IndexName, ix.KeySchema)
		if err != nil {
			return Table{}, err
		}
		t.GlobalSecondaryIndexes = append(t.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.IndexName), KeySchema: ks, Projection: ix.Projection.sdk(),
		})
	}
	for _, ix := range p.LocalSecondaryIndexes {
		ks, err := keys("LocalSecondaryIndexes "+ix.IndexName, ix.KeySchema)
		if err != nil {
			return Table{}, err
		}
		t.LocalSecondaryIndexes = append(t.LocalSecondaryIndexes, types.LocalSecondaryIndex{
			IndexName: aws.String(ix.IndexName), KeySchema: ks, Projection: ix.Projection.sdk(),
		})
	}
	if s := p.TimeToLiveSpecification; s != nil {
		t.TTLAttribute, t.TTLEnabled = s.AttributeName, s.Enabled
	}
	if s := p.StreamSpecification; s != nil {
		t.StreamViewType = types.StreamViewType(s.StreamViewType)
	}
	if s := p.PointInTimeRecoverySpecification; s != nil {
		t.PointInTimeRecovery = s.PointInTimeRecoveryEnabled
	}
	return t, nil
}

func (p projection) sdk() *types.Projection {
	out := &types.Projection{ProjectionType: types.ProjectionType(p.ProjectionType), NonKeyAttributes: p.NonKeyAttributes}
	if out.ProjectionType == "" {
		out.ProjectionType = types.ProjectionTypeAll // CloudFormation's default too
	}
	return out
}

// CreateTableInput is the request that creates t under name: on-demand billing whatever the
// template declares (DynamoDB Local ignores capacity, and throughput settings would only have to
// be dropped again), with its indexes and stream.
func (t Table) CreateTableInput(name string) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:              aws.String(name),
		BillingMode:            types.BillingModePayPerRequest,
		AttributeDefinitions:   t.AttributeDefinitions,
		KeySchema:              t.KeySchema,
		GlobalSecondaryIndexes: t.GlobalSecondaryIndexes,
		LocalSecondaryIndexes:  t.LocalSecondaryIndexes,
	}
	if t.StreamViewType != "" {
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: t.StreamViewType}
	}
	return in
}

// CreateTables creates each table under name(LogicalID) (the logical id itself when name is nil),
// waits until it and its indexes are ACTIVE, then enables TTL where the template does. A table
// that already exists (a DynamoDB Local kept in a data dir) is kept as it is, not compared with
// the template; its TTL is still enabled.
func CreateTables(ctx context.Context, client *dynamodb.Client, tables []Table, name func(logicalID string) string) error {
	if name == nil {
		name = func(id string) string { return id }
	}
	for _, t := range tables {
		n := name(t.LogicalID)
		if err := createTable(ctx, client, t, n); err != nil {
			return fmt.Errorf("cfn: table %s (%s): %w", n, t.LogicalID, err)
		}
	}
	return nil
}

func createTable(ctx context.Context, client *dynamodb.Client, t Table, name string) error {
	_, err := client.CreateTable(ctx, t.CreateTableInput(name))
	var exists *types.ResourceInUseException
	if err != nil && !errors.As(err, &exists) {
		return err
	}
	if err := waitActive(ctx, client, name); err != nil {
		return err
	}
	if err := enableStream(ctx, client, t, name); err != nil {
		return err
	}
	if t.TTLAttribute == "" || !t.TTLEnabled {
		return nil
	}
	// UpdateTimeToLive refuses to enable TTL that is already enabled: look first.
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return err
	}
	if d := ttl.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == t.TTLAttribute &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(t.TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	})
	return err
}

// enableStream gives a kept table (PERSIST=1, from before the template had a stream) the
// stream the template declares, so that the local stream mapping has something to read.
func enableStream(ctx context.Context, client *dynamodb.Client, t Table, name string) error {
	if t.StreamViewType == "" {
		return nil
	}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return err
	}
	if s := out.Table.StreamSpecification; s != nil && aws.ToBool(s.StreamEnabled) {
		return nil
	}
	_, err = client.UpdateTable(ctx, &dynamodb.UpdateTableInput{
		TableName:           aws.String(name),
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: t.StreamViewType},
	})
	if err != nil {
		return fmt.Errorf("enabling its stream: %w", err)
	}
	return waitActive(ctx, client, name)
}

// waitActive polls until the table and its global indexes are ACTIVE. DynamoDB Local creates
// them ACTIVE at once unless it runs with -delayTransientStatuses; the SDK's waiter would sleep
// 20 s between looks.
func waitActive(ctx context.Context, client *dynamodb.Client, name string) error {
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return err
		}
		active := out.Table.TableStatus == types.TableStatusActive
		for _, ix := range out.Table.GlobalSecondaryIndexes {
			active = active && ix.IndexStatus == types.IndexStatusActive
		}
		if active {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for ACTIVE (now %s): %w", out.Table.TableStatus, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
