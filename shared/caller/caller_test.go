package caller_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"testing"

	"wechatqr/shared/caller"
)

func TestFromAContextWithoutCallerIsAnonymous(t *testing.T) {
	got := caller.From(context.Background())
	if got.Kind != caller.Anonymous || got.ID != "anonymous (local)" {
		t.Errorf("From(empty) = %+v", got)
	}
	if got := caller.From(caller.With(context.Background(), caller.Caller{})); got.Kind != caller.Anonymous {
		t.Errorf("a zero Caller reads as %+v, want anonymous", got)
	}
}

func TestCallerRoundTripsAndLogsAsAGroup(t *testing.T) {
	c := caller.Caller{Kind: caller.Console, ID: "alice", Subject: "sub-1"}
	ctx := caller.With(context.Background(), c)
	if got := caller.From(ctx); !reflect.DeepEqual(got, c) {
		t.Fatalf("From = %+v, want %+v", got, c)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("audit", slog.Any("caller", caller.From(ctx)))
	var line struct {
		Caller map[string]string `json:"caller"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"kind": "console", "id": "alice", "subject": "sub-1"}
	if len(line.Caller) != len(want) {
		t.Fatalf("caller = %v, want %v", line.Caller, want)
	}
	for k, v := range want {
		if line.Caller[k] != v {
			t.Errorf("caller.%s = %q, want %q", k, line.Caller[k], v)
		}
	}
}
