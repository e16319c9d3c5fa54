package streams

import (
	"errors"
	"testing"

	"wechatqr/local/cfn"
)

// These tests hold ParseFilter and Match to Lambda's event filtering as documented (the
// EventBridge pattern grammar applied to the record's JSON, any of the Filters passing a
// record). No maintained Go implementation of that grammar can be installed here
// (docs/architecture.md, "Why local/cfn and local/streams are our own"), so this package plays the
// operators a DynamoDB stream filter needs and refuses the rest.

// templateFilters are template.yaml's FilterCriteria patterns for ScanActionsFunction, read as
// local runs read them.
func templateFilters(t *testing.T) []string {
	t.Helper()
	tpl, err := cfn.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range tpl.Functions() {
		if fn.LogicalID == "ScanActionsFunction" && len(fn.Streams) == 1 && len(fn.Streams[0].Filters) > 0 {
			return fn.Streams[0].Filters
		}
	}
	t.Fatal("template.yaml: ScanActionsFunction has no filtered DynamoDB event")
	return nil
}

// eventsRecord is a stream record as Lambda sends it for the events table (NEW_IMAGE); event, when
// not empty, is the image's "event" attribute, of DynamoDB type typ.
func eventsRecord(eventName, sk, typ, event string) string {
	img := `"pk":{"S":"user#o1"},"sk":{"S":"` + sk + `"}`
	if event != "" {
		img += `,"event":{"` + typ + `":"` + event + `"}`
	}
	newImage := `,"NewImage":{` + img + `}`
	if eventName == "REMOVE" { // a deletion (TTL's too) has no new image
		newImage = ""
	}
	return `{"eventName":"` + eventName + `","eventSource":"aws:dynamodb","dynamodb":{"Keys":{"pk":{"S":"user#o1"},"sk":{"S":"` + sk + `"}}` + newImage + `,"SizeBytes":120,"StreamViewType":"NEW_IMAGE"}}`
}

// TestTemplateFilterKeepsNewEventRecordsOnly plays template.yaml's own pattern: the records of
// scans, follows and leavings (event claims carrying an event) pass; message claims, updates,
// deletions and look-alikes do not.
func TestTemplateFilterKeepsNewEventRecordsOnly(t *testing.T) {
	f, err := ParseFilter(templateFilters(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		record string
		want   bool
	}{
		{"a follow through a code passes", eventsRecord("INSERT", "push#event:1732500000|subscribe|qrscene_riddle-1", "S", "subscribe"), true},
		{"a follower's scan passes", eventsRecord("INSERT", "push#event:1732500001|SCAN|riddle-1", "S", "SCAN"), true},
		{"a leaving passes", eventsRecord("INSERT", "push#event:1732500002|unsubscribe|", "S", "unsubscribe"), true},
		{"an event claim without an event attribute is dropped", eventsRecord("INSERT", "push#event:1732500003|CLICK|menu", "", ""), false},
		{"an event attribute of another type is dropped", eventsRecord("INSERT", "push#event:1732500003|SCAN|riddle-1", "N", "1"), false},
		{"a message claim is dropped", eventsRecord("INSERT", "push#msg:24000000000000001", "S", "text"), false},
		{"an update of a record is dropped", eventsRecord("MODIFY", "push#event:1732500001|SCAN|riddle-1", "S", "SCAN"), false},
		{"a deletion is dropped", eventsRecord("REMOVE", "push#event:1732500001|SCAN|riddle-1", "", ""), false},
		{"the prefix is case-sensitive", eventsRecord("INSERT", "PUSH#EVENT:1732500001|SCAN|riddle-1", "S", "SCAN"), false},
		{"a source item is dropped", eventsRecord("INSERT", "source", "S", "SCAN"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.Match([]byte(tt.record))
			if err != nil || got != tt.want {
				t.Errorf("Match = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestFilterMatchesAsLambda(t *testing.T) {
	rec := func(event, sk string) string {
		return `{"eventName":"` + event + `","eventSource":"aws:dynamodb","dynamodb":{"Keys":{"pk":{"S":"user#o1"},"sk":{"S":"` + sk + `"}},"NewImage":{"n":{"N":"42"},"tags":{"SS":["a","b"]}},"SizeBytes":12}}`
	}
	tests := []struct {
		name     string
		patterns []string
		record   string
		want     bool
	}{
		{"no patterns pass everything", nil, rec("REMOVE", "x"), true},
		{"any pattern of several", []string{`{"eventName":["MODIFY"]}`, `{"eventName":["REMOVE"]}`}, rec("REMOVE", "x"), true},
		{"every field of a pattern", []string{`{"eventName":["INSERT"],"dynamodb":{"Keys":{"sk":{"S":["y"]}}}}`}, rec("INSERT", "x"), false},
		{"a missing field fails an exact match", []string{`{"dynamodb":{"OldImage":{"n":{"N":["42"]}}}}`}, rec("INSERT", "x"), false},
		{"numbers compare as numbers", []string{`{"dynamodb":{"SizeBytes":[12.0]}}`}, rec("INSERT", "x"), true},
		{"a number in a string is a string", []string{`{"dynamodb":{"NewImage":{"n":{"N":[42]}}}}`}, rec("INSERT", "x"), false},
		{"exists on a leaf", []string{`{"dynamodb":{"NewImage":{"n":{"N":[{"exists":true}]}}}}`}, rec("INSERT", "x"), true},
		{"exists false on a missing leaf", []string{`{"dynamodb":{"OldImage":{"n":{"N":[{"exists":false}]}}}}`}, rec("INSERT", "x"), true},
		{"exists false on a present leaf", []string{`{"dynamodb":{"NewImage":{"n":{"N":[{"exists":false}]}}}}`}, rec("INSERT", "x"), false},
		{"anything-but refuses", []string{`{"eventName":[{"anything-but":["REMOVE","MODIFY"]}]}`}, rec("MODIFY", "x"), false},
		{"anything-but passes", []string{`{"eventName":[{"anything-but":"REMOVE"}]}`}, rec("INSERT", "x"), true},
		{"a list value matches by element", []string{`{"dynamodb":{"NewImage":{"tags":{"SS":["b"]}}}}`}, rec("INSERT", "x"), true},
		{"prefix", []string{`{"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"push#event:"}]}}}}`}, rec("INSERT", "push#event:1"), true},
		{"suffix", []string{`{"dynamodb":{"Keys":{"sk":{"S":[{"suffix":"|riddle-1"}]}}}}`}, rec("INSERT", "push#event:1|SCAN|riddle-1"), true},
		{"equals-ignore-case", []string{`{"eventName":[{"equals-ignore-case":"insert"}]}`}, rec("INSERT", "x"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFilter(tt.patterns)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Match([]byte(tt.record))
			if err != nil || got != tt.want {
				t.Errorf("Match = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestFilterRefusesWhatItCannotPlay(t *testing.T) {
	for _, p := range []string{
		`{"dynamodb":{"NewImage":{"n":{"N":[{"numeric":[">",1]}]}}}}`,
		`{"eventName":[{"wildcard":"IN*"}]}`,
		`{"$or":[{"eventName":["INSERT"]},{"eventName":["MODIFY"]}]}`,
		`{"eventName":[{"anything-but":{"prefix":"IN"}}]}`,
		`{"eventName":"INSERT"}`,
		`{"eventName":[]}`,
		`{"eventName":[{"prefix":"I","suffix":"T"}]}`,
		`{"eventName":[{"exists":"yes"}]}`,
		`{}`,
		`{"dynamodb":{"NewImage":{"n":{"exists":true}}}}`, // matchers sit in lists
		`not json`,
		`{"eventName":["INSERT"]} {}`,
	} {
		if _, err := ParseFilter([]string{p}); !errors.Is(err, ErrFilter) {
			t.Errorf("ParseFilter(%s) = %v, want ErrFilter", p, err)
		}
	}
}
