package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/qr"
	"wechatqr/shared/redact"
)

// The items of a scene's actions:
//
//	scenes  pk=actions#<scene>#<shard>  sk=total  a shard of what the scene's actions did (counters, ADD only)
//	        pk=tag#<name>     sk=id               the WeChat id of a tag name
//	events  pk=user#<openid>  sk=tagged#<push>    the push's follower was tagged (or refused for good)
//	        pk=user#<openid>  sk=followup#<push>#<i>  follow-up i of the push is claimed: sent, skipped, refused, unknown
//	        pk=user#<openid>  sk=published#<push> the push's event is on the bus
//	        pk=erased#<sha256(openid)>  sk=erased  the follower was erased (erase.go): their earlier pushes do nothing
//
// <push> is the scan record's sort key after "push#" (keys.go). Everything
// naming a follower sits in their partition, so erasing the partition erases
// it, and expires after MarkerTTL: by then the stream (24 h) cannot deliver the
// record again.
//
// Erasure must stay erased: a record still on the stream when its follower is
// erased must not write those items again, tag or send. Load reads the
// erased-follower marker with the other markers and reports the record Erased;
// and every write below in the follower's partition carries a ConditionCheck on
// the marker (notErased), so a record whose Load came before the erasure is
// refused at its next write (qr.ErrFollowerErased) and does nothing more.

// The attribute state of a marker or claim, and its values.
const (
	attrState    = "state"
	stateTagged  = "tagged"
	stateRefused = "refused" // the tag, or the follow-up, WeChat refused for good
	stateSent    = "sent"    // a follow-up claimed to be sent, or sent
	stateSkipped = "skipped"
	stateUnknown = "unknown" // a follow-up whose send got no answer
)

// MarkerTTL is how long the markers and claims of a push's actions are kept.
const MarkerTTL = 48 * time.Hour

type actionsItem struct {
	Tagged           int64 `dynamodbav:"tagged"`
	TagFailed        int64 `dynamodbav:"tag_failed"`
	FollowupsSent    int64 `dynamodbav:"followups_sent"`
	FollowupsSkipped int64 `dynamodbav:"followups_skipped"`
	FollowupsFailed  int64 `dynamodbav:"followups_failed"`
}

// SetActions replaces a scene's tag ("" for none) and follow-ups and returns the
// updated mapping; ENotFound when the scene has no code.
func (s *Store) SetActions(ctx context.Context, scene, tag string, followups []qr.Reply) (*qr.Code, error) {
	names := map[string]string{"#t": "tag", "#f": "followups"}
	values := map[string]types.AttributeValue{}
	var set, remove []string
	if tag != "" {
		set, values[":t"] = append(set, "#t = :t"), &types.AttributeValueMemberS{Value: tag}
	} else {
		remove = append(remove, "#t")
	}
	if len(followups) > 0 {
		fav, err := attributevalue.Marshal(newReplyItems(followups))
		if err != nil {
			return nil, fmt.Errorf("dynamo: marshal followups: %w", err)
		}
		set, values[":f"] = append(set, "#f = :f"), fav
	} else {
		remove = append(remove, "#f")
	}
	expr := ""
	if len(set) > 0 {
		expr = "SET " + join(set)
	}
	if len(remove) > 0 {
		expr += " REMOVE " + join(remove)
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                &s.tables.Scenes,
		Key:                      s.at(codeKey(scene)).av(),
		UpdateExpression:         aws.String(expr),
		ConditionExpression:      aws.String(present),
		ExpressionAttributeNames: names,
		ReturnValues:             types.ReturnValueAllNew,
	}
	if len(values) > 0 {
		in.ExpressionAttributeValues = values
	}
	out, err := s.db.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil, qr.Errorf(qr.ENotFound, "no code for scene %q", redact.Scene(scene))
	}
	if err != nil {
		return nil, unavailable("set actions", err)
	}
	var it codeItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return nil, fmt.Errorf("dynamo: unmarshal code: %w", err)
	}
	return it.code(), nil
}

func join(parts []string) string {
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += ", "
		}
		out += p
	}
	return out
}

// ActionCounts is what a scene's actions did, its shards summed in one
// BatchGetItem; zero before any.
func (s *Store) ActionCounts(ctx context.Context, scene string) (qr.ActionCounts, error) {
	keys := make([]map[string]types.AttributeValue, s.shards)
	for i := range keys {
		keys[i] = s.at(actionsKey(scene, i)).av()
	}
	var c qr.ActionCounts
	err := s.batchRead(ctx, "action counts", map[string]types.KeysAndAttributes{s.tables.Scenes: {Keys: keys}}, func(_ string, av map[string]types.AttributeValue) error {
		var it actionsItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return fmt.Errorf("dynamo: unmarshal action counts: %w", err)
		}
		c.Tagged += it.Tagged
		c.TagFailed += it.TagFailed
		c.FollowupsSent += it.FollowupsSent
		c.FollowupsSkipped += it.FollowupsSkipped
		c.FollowupsFailed += it.FollowupsFailed
		return nil
	})
	return c, err
}

// Load reads the mappings of scenes and the markers and claims of recs, and the
// erased-follower marker of each of their followers, strongly consistent (a
// retry must see what the delivery before it wrote), in BatchGetItem calls of up
// to 100 keys: one call for a batch of up to 15 records (6 keys each, and the
// scenes), 6 or 7 calls for a full batch of 100.
func (s *Store) Load(ctx context.Context, scenes []string, recs []qr.ScanRecord) (map[string]*qr.Code, map[string]qr.ActionProgress, error) {
	type mark struct {
		push string
		kind string
		i    int
	}
	marks := map[key]mark{}
	var keys []struct {
		table string
		k     key
	}
	for _, sc := range scenes {
		keys = append(keys, struct {
			table string
			k     key
		}{s.tables.Scenes, s.at(codeKey(sc))})
	}
	progress := make(map[string]qr.ActionProgress, len(recs))
	erasedOf := map[key]string{}   // an erased-follower marker's key → the openid
	erasedAt := map[string]int64{} // openid → the erasure's cutoff, for the erased
	for _, r := range recs {
		id := r.PushID
		progress[id] = qr.ActionProgress{}
		if k := s.at(erasedKey(r.OpenID)); erasedOf[k] == "" {
			erasedOf[k] = r.OpenID // once: a BatchGetItem refuses a key twice
			keys = append(keys, struct {
				table string
				k     key
			}{s.tables.Events, k})
		}
		add := func(k key, kind string, i int) {
			marks[k] = mark{id, kind, i}
			keys = append(keys, struct {
				table string
				k     key
			}{s.tables.Events, k})
		}
		add(s.at(taggedKey(r)), prefixTagged, 0)
		add(s.at(publishedKey(r)), prefixPublished, 0)
		for i := range qr.MaxFollowups {
			add(s.at(followupKey(r, i)), prefixFollowup, i)
		}
	}
	codes := map[string]*qr.Code{}
	for start := 0; start < len(keys); start += 100 {
		req := map[string]types.KeysAndAttributes{}
		for _, k := range keys[start:min(start+100, len(keys))] {
			ka := req[k.table]
			ka.Keys = append(ka.Keys, k.k.av())
			ka.ConsistentRead = aws.Bool(true)
			req[k.table] = ka
		}
		err := s.batchRead(ctx, "load actions", req, func(table string, av map[string]types.AttributeValue) error {
			var k key
			if err := attributevalue.UnmarshalMap(av, &k); err != nil {
				return fmt.Errorf("dynamo: unmarshal key: %w", err)
			}
			if table == s.tables.Scenes {
				var it codeItem
				if err := attributevalue.UnmarshalMap(av, &it); err != nil {
					return fmt.Errorf("dynamo: unmarshal code: %w", err)
				}
				codes[it.Scene] = it.code()
				return nil
			}
			if openid, ok := erasedOf[k]; ok {
				var it erasedItem
				if err := attributevalue.UnmarshalMap(av, &it); err != nil {
					return fmt.Errorf("dynamo: unmarshal erased marker: %w", err)
				}
				erasedAt[openid] = it.ErasedAt
				return nil
			}
			m, ok := marks[k]
			if !ok {
				return nil
			}
			p := progress[m.push]
			switch m.kind {
			case prefixTagged:
				p.Tagged = true
			case prefixPublished:
				p.Published = true
			case prefixFollowup:
				p.Followups[m.i] = true
			}
			progress[m.push] = p
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	for _, r := range recs {
		if at, ok := erasedAt[r.OpenID]; ok && r.At.Unix() <= at {
			p := progress[r.PushID]
			p.Erased = true
			progress[r.PushID] = p
		}
	}
	return codes, progress, nil
}

// erasedItem is an erased-follower marker: the erasure's cutoff.
type erasedItem struct {
	ErasedAt int64 `dynamodbav:"erased_at"`
}

// notErased is the condition every write of r's actions in the follower's
// partition carries: no erased-follower marker, or one older than r's push
// (the follower came back after the erasure and this is a new push of theirs).
func (s *Store) notErased(r qr.ScanRecord) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                 &s.tables.Events,
		Key:                       s.at(erasedKey(r.OpenID)).av(),
		ConditionExpression:       aws.String(absent + " OR #e < :at"),
		ExpressionAttributeNames:  map[string]string{"#e": attrErasedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": number(r.At.Unix())},
	}}
}

// failedAt reports whether err is a cancelled transaction whose item i failed its condition.
func failedAt(err error, i int) bool {
	var tce *types.TransactionCanceledException
	return errors.As(err, &tce) && i < len(tce.CancellationReasons) && aws.ToString(tce.CancellationReasons[i].Code) == "ConditionalCheckFailed"
}

// TagID returns the WeChat id kept for a tag name.
func (s *Store) TagID(ctx context.Context, name string) (int64, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Scenes, Key: s.at(tagIDKey(name)).av(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, false, unavailable("get tag id", err)
	}
	if out.Item == nil {
		return 0, false, nil
	}
	var it struct {
		ID int64 `dynamodbav:"tag_id"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return 0, false, fmt.Errorf("dynamo: unmarshal tag id: %w", err)
	}
	return it.ID, true, nil
}

// SaveTagID keeps a tag name's WeChat id (replacing an id WeChat no longer knows).
func (s *Store) SaveTagID(ctx context.Context, name string, id int64) error {
	item := s.at(tagIDKey(name)).av()
	item["name"] = &types.AttributeValueMemberS{Value: name}
	item["tag_id"] = number(id)
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.tables.Scenes, Item: item}); err != nil {
		return unavailable("save tag id", err)
	}
	return nil
}

// marker is a push's marker or claim item.
func (s *Store) marker(k key, state string) map[string]types.AttributeValue {
	av := k.av()
	av[attrExpireAt] = number(s.now().Add(MarkerTTL).Unix())
	if state != "" {
		av[attrState] = &types.AttributeValueMemberS{Value: state}
	}
	return av
}

// count adds to the action counters of r's scene, in r's shard.
func (s *Store) count(r qr.ScanRecord, deltas map[string]int64) types.TransactWriteItem {
	scene := r.Scene
	names := map[string]string{"#scene": attrScene}
	values := map[string]types.AttributeValue{":scene": &types.AttributeValueMemberS{Value: scene}}
	expr := "SET #scene = :scene ADD "
	n := 0
	for attr, d := range deltas {
		if n > 0 {
			expr += ", "
		}
		name, val := "#c"+strconv.Itoa(n), ":c"+strconv.Itoa(n)
		names[name], values[val] = attr, number(d)
		expr += name + " " + val
		n++
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.tables.Scenes, Key: s.at(actionsKey(scene, s.shard(r.PushID))).av(),
		UpdateExpression: aws.String(expr), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}}
}

// putFirst writes a marker only if absent, with its count, in one transaction;
// first is false (and nothing is written) when it was there already. Nothing is
// written either, and the error is qr.ErrFollowerErased, once r's follower is erased.
func (s *Store) putFirst(ctx context.Context, op string, item map[string]types.AttributeValue, r qr.ScanRecord, deltas map[string]int64) (bool, error) {
	err := s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.tables.Events, Item: item, ConditionExpression: aws.String(absent)}},
		s.count(r, deltas),
		s.notErased(r),
	})
	switch {
	case err == nil:
		return true, nil
	case failedAt(err, 2):
		return false, qr.ErrFollowerErased
	case failedAt(err, 0):
		return false, nil
	}
	return false, unavailable(op, err)
}

// transact runs a transaction, again when it was cancelled only because another
// transaction held one of its items: every claim of a scene's scans also updates
// a shard of the scene's counters, where concurrent records of a hot scene collide.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	for attempt := 0; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		var tce *types.TransactionCanceledException
		if err == nil || attempt == 5 || !errors.As(err, &tce) || !conflictOnly(tce.CancellationReasons) {
			return err
		}
		if serr := sleep(ctx, time.Duration(10<<attempt)*time.Millisecond); serr != nil {
			return err
		}
	}
}

// conflictOnly: some reason is TransactionConflict and none is a failed condition.
func conflictOnly(reasons []types.CancellationReason) bool {
	for _, r := range reasons {
		if aws.ToString(r.Code) == "ConditionalCheckFailed" {
			return false
		}
	}
	return conflicted(reasons)
}

// MarkTagged writes the push's tag marker and counts it, once.
func (s *Store) MarkTagged(ctx context.Context, r qr.ScanRecord, ok bool) (bool, error) {
	state, counter := stateTagged, "tagged"
	if !ok {
		state, counter = stateRefused, "tag_failed"
	}
	return s.putFirst(ctx, "mark tagged", s.marker(s.at(taggedKey(r)), state), r, map[string]int64{counter: 1})
}

// ClaimFollowup claims follow-up i of the push and counts it sent, before the send.
func (s *Store) ClaimFollowup(ctx context.Context, r qr.ScanRecord, i int) (bool, error) {
	return s.putFirst(ctx, "claim follow-up", s.marker(s.at(followupKey(r, i)), stateSent), r, map[string]int64{"followups_sent": 1})
}

// SkipFollowup claims follow-up i as skipped and counts it, unless claimed before.
func (s *Store) SkipFollowup(ctx context.Context, r qr.ScanRecord, i int) error {
	_, err := s.putFirst(ctx, "skip follow-up", s.marker(s.at(followupKey(r, i)), stateSkipped), r, map[string]int64{"followups_skipped": 1})
	return err
}

// SettleFollowup takes back the "sent" of a claimed follow-up: released (the
// claim deleted, so a retry sends), or kept as refused or unknown and counted failed.
func (s *Store) SettleFollowup(ctx context.Context, r qr.ScanRecord, i int, o qr.FollowupOutcome) error {
	k := s.at(followupKey(r, i))
	sent := map[string]types.AttributeValue{":sent": &types.AttributeValueMemberS{Value: stateSent}}
	var first types.TransactWriteItem
	deltas := map[string]int64{"followups_sent": -1}
	if o == qr.FollowupReleased {
		first = types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.tables.Events, Key: k.av(),
			ConditionExpression:      aws.String("#s = :sent"),
			ExpressionAttributeNames: map[string]string{"#s": attrState}, ExpressionAttributeValues: sent,
		}}
	} else {
		state := stateUnknown
		if o == qr.FollowupRefused {
			state = stateRefused
		}
		sent[":o"] = &types.AttributeValueMemberS{Value: state}
		first = types.TransactWriteItem{Update: &types.Update{
			TableName: &s.tables.Events, Key: k.av(),
			UpdateExpression:         aws.String("SET #s = :o"),
			ConditionExpression:      aws.String("#s = :sent"),
			ExpressionAttributeNames: map[string]string{"#s": attrState}, ExpressionAttributeValues: sent,
		}}
		deltas["followups_failed"] = 1
	}
	err := s.transact(ctx, []types.TransactWriteItem{first, s.count(r, deltas), s.notErased(r)})
	switch {
	case err == nil:
		return nil
	case failedAt(err, 2):
		return qr.ErrFollowerErased // the erasure deleted the claim too
	}
	return unavailable("settle follow-up", err)
}

// MarkPublished writes the published markers of recs, skipping the records whose
// follower was erased after the push. A marker is written only if its follower's
// erased-follower marker allows it, so the markers go in transactions, each with
// one ConditionCheck per follower it writes for, 100 items at most: one call
// for up to 50 records of different followers (a BatchWriteItem, 25 a call,
// cannot be conditional). A transaction a follower's check cancels is sent
// again without that follower's erased records.
func (s *Store) MarkPublished(ctx context.Context, recs []qr.ScanRecord) error {
	var order []string // openids, first seen first
	byFollower := map[string][]qr.ScanRecord{}
	for _, r := range recs {
		if _, ok := byFollower[r.OpenID]; !ok {
			order = append(order, r.OpenID)
		}
		byFollower[r.OpenID] = append(byFollower[r.OpenID], r)
	}
	for _, group := range byFollower {
		// Oldest first: a group's check is of its oldest push (markPublished).
		slices.SortStableFunc(group, func(a, b qr.ScanRecord) int { return a.At.Compare(b.At) })
	}
	// Chunks of at most maxTransactItems items: each follower's check, then their markers.
	var chunk [][]qr.ScanRecord
	n := 0
	for _, openid := range order {
		for group := byFollower[openid]; len(group) > 0; {
			if n+2 > maxTransactItems {
				if err := s.markPublished(ctx, chunk); err != nil {
					return err
				}
				chunk, n = nil, 0
			}
			take := min(len(group), maxTransactItems-n-1)
			chunk, n = append(chunk, group[:take]), n+1+take
			group = group[take:]
		}
	}
	if len(chunk) == 0 {
		return nil
	}
	return s.markPublished(ctx, chunk)
}

// maxTransactItems is how many items one TransactWriteItems may hold.
const maxTransactItems = 100

// markPublished writes the published markers of groups (each one follower's
// records, oldest first) in one transaction, each group behind its follower's
// check, made with the group's oldest push: it passes only if every push of the
// group is newer than any erasure.
func (s *Store) markPublished(ctx context.Context, groups [][]qr.ScanRecord) error {
	for len(groups) > 0 {
		var items []types.TransactWriteItem
		checks := make([]int, len(groups)) // the position of each group's check
		for g, group := range groups {
			checks[g] = len(items)
			items = append(items, s.notErased(group[0]))
			for _, r := range group {
				items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.tables.Events, Item: s.marker(s.at(publishedKey(r)), "")}})
			}
		}
		err := s.transact(ctx, items)
		if err == nil {
			return nil
		}
		// A failed check drops the group's oldest push, erased; the follower's
		// later pushes may be newer than the erasure, and are tried again.
		var left [][]qr.ScanRecord
		dropped := false
		for g, group := range groups {
			if !failedAt(err, checks[g]) {
				left = append(left, group)
				continue
			}
			dropped = true
			if len(group) > 1 {
				left = append(left, group[1:])
			}
		}
		if !dropped {
			return unavailable("mark published", err)
		}
		groups = left
	}
	return nil
}
