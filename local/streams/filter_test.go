package streams

import (
	"errors"
	"testing"
)

// scanFilter is the template's FilterCriteria for ScanActionsFunction.
const scanFilter = `{"eventName":["INSERT"],"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"scan#"}]}}}}`

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
		{"scan insert passes", []string{scanFilter}, rec("INSERT", "scan#1732500000#subscribe#riddle-1"), true},
		{"scan modify is dropped", []string{scanFilter}, rec("MODIFY", "scan#1732500000#subscribe#riddle-1"), false},
		{"scan remove is dropped", []string{scanFilter}, rec("REMOVE", "scan#1732500000#subscribe#riddle-1"), false},
		{"claim insert is dropped", []string{scanFilter}, rec("INSERT", "push#abc"), false},
		{"prefix is case-sensitive", []string{scanFilter}, rec("INSERT", "SCAN#1"), false},
		{"no patterns pass everything", nil, rec("REMOVE", "x"), true},
		{"any pattern of several", []string{`{"eventName":["MODIFY"]}`, `{"eventName":["REMOVE"]}`}, rec("REMOVE", "x"), true},
		{"a missing field fails an exact match", []string{`{"dynamodb":{"OldImage":{"n":{"N":["42"]}}}}`}, rec("INSERT", "x"), false},
		{"numbers compare as numbers", []string{`{"dynamodb":{"SizeBytes":[12.0]}}`}, rec("INSERT", "x"), true},
		{"exists on a leaf", []string{`{"dynamodb":{"NewImage":{"n":{"N":[{"exists":true}]}}}}`}, rec("INSERT", "x"), true},
		{"exists false on a missing leaf", []string{`{"dynamodb":{"OldImage":{"n":{"N":[{"exists":false}]}}}}`}, rec("INSERT", "x"), true},
		{"exists false on a present leaf", []string{`{"dynamodb":{"NewImage":{"n":{"N":[{"exists":false}]}}}}`}, rec("INSERT", "x"), false},
		{"anything-but refuses", []string{`{"eventName":[{"anything-but":["REMOVE","MODIFY"]}]}`}, rec("MODIFY", "x"), false},
		{"anything-but passes", []string{`{"eventName":[{"anything-but":"REMOVE"}]}`}, rec("INSERT", "x"), true},
		{"a list value matches by element", []string{`{"dynamodb":{"NewImage":{"tags":{"SS":["b"]}}}}`}, rec("INSERT", "x"), true},
		{"suffix", []string{`{"dynamodb":{"Keys":{"sk":{"S":[{"suffix":"#riddle-1"}]}}}}`}, rec("INSERT", "scan#1#SCAN#riddle-1"), true},
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
