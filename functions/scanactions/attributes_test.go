package main

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestAttributesConvertEveryType: each of DynamoDB's types, as Lambda's JSON
// carries it, becomes the SDK's value of that type, nested ones included.
func TestAttributesConvertEveryType(t *testing.T) {
	tests := []struct {
		name, json string
		want       types.AttributeValue
	}{
		{"string", `{"S":"user#o1"}`, &types.AttributeValueMemberS{Value: "user#o1"}},
		{"empty string", `{"S":""}`, &types.AttributeValueMemberS{Value: ""}},
		{"number, as written", `{"N":"1732500000"}`, &types.AttributeValueMemberN{Value: "1732500000"}},
		{"binary", `{"B":"aGk="}`, &types.AttributeValueMemberB{Value: []byte("hi")}},
		{"boolean", `{"BOOL":true}`, &types.AttributeValueMemberBOOL{Value: true}},
		{"null", `{"NULL":true}`, &types.AttributeValueMemberNULL{Value: true}},
		{"string set", `{"SS":["a","b"]}`, &types.AttributeValueMemberSS{Value: []string{"a", "b"}}},
		{"number set", `{"NS":["1","2.5"]}`, &types.AttributeValueMemberNS{Value: []string{"1", "2.5"}}},
		{"binary set", `{"BS":["aGk="]}`, &types.AttributeValueMemberBS{Value: [][]byte{[]byte("hi")}}},
		{"list", `{"L":[{"S":"a"},{"N":"1"},{"L":[]}]}`, &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "a"}, &types.AttributeValueMemberN{Value: "1"}, &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
		}}},
		{"map, as a reply is stored", `{"M":{"type":{"S":"text"},"content":{"S":"hi"},"empty":{"M":{}}}}`, &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"type": &types.AttributeValueMemberS{Value: "text"}, "content": &types.AttributeValueMemberS{Value: "hi"},
			"empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in map[string]events.DynamoDBAttributeValue
			if err := json.Unmarshal([]byte(`{"a":`+tt.json+`}`), &in); err != nil {
				t.Fatal(err)
			}
			got, err := attributes(in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got["a"], tt.want) {
				t.Errorf("%s became %#v, want %#v", tt.json, got["a"], tt.want)
			}
		})
	}
}

// TestAttributesOfNoImage: a record without a new image (a deletion) converts
// to no image, which the decoder tells apart from an empty one.
func TestAttributesOfNoImage(t *testing.T) {
	got, err := attributes(nil)
	if err != nil || got != nil {
		t.Errorf("attributes(nil) = %v, %v; want nil, nil", got, err)
	}
}
