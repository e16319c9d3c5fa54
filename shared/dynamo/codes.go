package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/qr"
	"wechatqr/shared/redact"
)

// The codes index (ByCreated in template.yaml) lists every code item newest
// first: one partition (listCodes), sorted by creation time. Only code items
// carry its keys, so scans and counters never write to it.
func listSK(c *qr.Code) string {
	return fmt.Sprintf("%020d#%s", c.CreatedAt.UnixNano(), c.Scene)
}

func (s *Store) newCodeItem(c *qr.Code) codeItem {
	item := codeItem{
		key:           s.at(codeKey(c.Scene)),
		Scene:         c.Scene,
		ActionName:    c.ActionName,
		Ticket:        c.Ticket,
		URL:           c.URL,
		Permanent:     c.Permanent,
		Reply:         newReplyItem(c.Reply),
		Tag:           c.Tag,
		Followups:     newReplyItems(c.Followups),
		CreatedAt:     c.CreatedAt.Unix(),
		CreatedAtNano: c.CreatedAt.UnixNano(),
		ExpireSeconds: c.ExpireSeconds,
		ListPK:        s.ns + listCodes,
		ListSK:        listSK(c),
	}
	if !c.ExpiresAt.IsZero() {
		item.ExpiresAt = c.ExpiresAt.Unix()
		item.ExpireAt = item.ExpiresAt
	}
	return item
}

// Code returns the mapping of scene, or an ENotFound error. Errors name a
// scene through redact.Scene: they are logged, and a log-in scene holds its
// session's id.
func (s *Store) Code(ctx context.Context, scene string) (*qr.Code, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Scenes, Key: s.at(codeKey(scene)).av(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, unavailable("get code", err)
	}
	if out.Item == nil {
		return nil, qr.Errorf(qr.ENotFound, "no code for scene %q", redact.Scene(scene))
	}
	var it codeItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("dynamo: unmarshal code: %w", err)
	}
	return it.code(), nil
}

// CreateCode stores a new mapping.
//
// A temporary code may replace an earlier temporary code of the same scene (a
// re-issue: new ticket, same counters, which live apart), never a permanent one.
// A permanent code is written only if the scene has no live mapping, in one
// transaction with the account's permanent count, which must stay below max: a
// code is never stored without being counted, nor counted without being stored.
// Errors: EConflict when the scene is taken, EQuota when the count is full.
func (s *Store) CreateCode(ctx context.Context, c *qr.Code, max int64) error {
	av, err := attributevalue.MarshalMap(s.newCodeItem(c))
	if err != nil {
		return fmt.Errorf("dynamo: marshal code: %w", err)
	}
	if !c.Permanent {
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 &s.tables.Scenes,
			Item:                      av,
			ConditionExpression:       aws.String(absent + " OR #p = :false"),
			ExpressionAttributeNames:  map[string]string{"#p": "permanent"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":false": &types.AttributeValueMemberBOOL{Value: false}},
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return qr.Errorf(qr.EConflict, "scene %q is a permanent code; a temporary code cannot take its key", redact.Scene(c.Scene))
		}
		if err != nil {
			return unavailable("put code", err)
		}
		return nil
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: &s.tables.Scenes,
			Item:      av,
			// Free, or held by a temporary code that has expired but not yet
			// been deleted by TTL.
			ConditionExpression:      aws.String(absent + " OR (#p = :false AND #e <= :now)"),
			ExpressionAttributeNames: map[string]string{"#p": "permanent", "#e": "expires_at"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":false": &types.AttributeValueMemberBOOL{Value: false},
				":now":   number(c.CreatedAt.Unix()),
			},
		}},
		{Update: &types.Update{
			TableName:                 &s.tables.Scenes,
			Key:                       s.at(quotaKey).av(),
			UpdateExpression:          aws.String("ADD #n :one"),
			ConditionExpression:       aws.String("attribute_not_exists(#n) OR #n < :max"),
			ExpressionAttributeNames:  map[string]string{"#n": "count"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": number(1), ":max": number(max)},
		}},
	}})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && len(tce.CancellationReasons) == 2 {
		if aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
			return qr.Errorf(qr.EConflict, "scene %q already has a code", redact.Scene(c.Scene))
		}
		if aws.ToString(tce.CancellationReasons[1].Code) == "ConditionalCheckFailed" {
			return qr.Errorf(qr.EQuota, "the account holds %d permanent codes, WeChat's limit", max)
		}
	}
	if err != nil {
		return unavailable("create permanent code", err)
	}
	return nil
}

// PermanentCount is how many permanent codes this account has created here.
func (s *Store) PermanentCount(ctx context.Context) (int64, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Scenes, Key: s.at(quotaKey).av(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, unavailable("permanent count", err)
	}
	var it struct {
		Count int64 `dynamodbav:"count"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return 0, fmt.Errorf("dynamo: unmarshal count: %w", err)
	}
	return it.Count, nil
}

// SetReply replaces a scene's reply and returns the updated mapping; ENotFound
// when the scene has no code.
func (s *Store) SetReply(ctx context.Context, scene string, reply *qr.Reply) (*qr.Code, error) {
	rav, err := attributevalue.Marshal(newReplyItem(reply))
	if err != nil {
		return nil, fmt.Errorf("dynamo: marshal reply: %w", err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.tables.Scenes,
		Key:                       s.at(codeKey(scene)).av(),
		UpdateExpression:          aws.String("SET #r = :r"),
		ConditionExpression:       aws.String(present),
		ExpressionAttributeNames:  map[string]string{"#r": "reply"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": rav},
		ReturnValues:              types.ReturnValueAllNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil, qr.Errorf(qr.ENotFound, "no code for scene %q", redact.Scene(scene))
	}
	if err != nil {
		return nil, unavailable("set reply", err)
	}
	var it codeItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return nil, fmt.Errorf("dynamo: unmarshal code: %w", err)
	}
	return it.code(), nil
}

// ListCodes returns up to limit codes, newest first, after cursor (from an
// earlier page; "" for the first), and the cursor of the next page ("" at the end).
func (s *Store) ListCodes(ctx context.Context, cursor string, limit int) ([]*qr.Code, string, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.tables.Scenes,
		IndexName:                 aws.String(indexByCreated),
		KeyConditionExpression:    aws.String("#lp = :lp"),
		ExpressionAttributeNames:  map[string]string{"#lp": "list_pk"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":lp": &types.AttributeValueMemberS{Value: s.ns + listCodes}},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	}
	if cursor != "" {
		start, err := decodeCursor(cursor, s.ns+listCodes)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", unavailable("list codes", err)
	}
	codes := make([]*qr.Code, 0, len(out.Items))
	for _, av := range out.Items {
		var it codeItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, "", fmt.Errorf("dynamo: unmarshal code: %w", err)
		}
		codes = append(codes, it.code())
	}
	next := ""
	if len(out.LastEvaluatedKey) > 0 {
		next = encodeCursor(out.LastEvaluatedKey)
	}
	return codes, next, nil
}

// A cursor is the page's last key, as opaque URL-safe text. Only string
// attributes occur in the keys of this index and table.
func encodeCursor(k map[string]types.AttributeValue) string {
	m := map[string]string{}
	for name, v := range k {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			m[name] = s.Value
		}
	}
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c, listPK string) (map[string]types.AttributeValue, error) {
	invalid := qr.Errorf(qr.EInvalid, "cursor: not a cursor this API returned")
	k, err := decodeKeyCursor(c)
	if err != nil {
		return nil, invalid
	}
	for _, want := range []string{"pk", "sk", "list_pk", "list_sk"} {
		if _, ok := k[want]; !ok {
			return nil, invalid
		}
	}
	if lp, _ := k["list_pk"].(*types.AttributeValueMemberS); lp.Value != listPK {
		return nil, invalid
	}
	return k, nil
}

// decodeKeyCursor reads encodeCursor's text back into a key.
func decodeKeyCursor(c string) (map[string]types.AttributeValue, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	k := map[string]types.AttributeValue{}
	for name, v := range m {
		k[name] = &types.AttributeValueMemberS{Value: v}
	}
	return k, nil
}

// replyItem is a qr.Reply as stored: a code's reply, and each of its follow-ups.
type replyItem struct {
	Type     string        `dynamodbav:"type"`
	Content  string        `dynamodbav:"content,omitempty"`
	Articles []articleItem `dynamodbav:"articles,omitempty"`
	MediaID  string        `dynamodbav:"media_id,omitempty"`
}

// articleItem is a qr.Article as stored.
type articleItem struct {
	Title       string `dynamodbav:"title"`
	Description string `dynamodbav:"description,omitempty"`
	PicURL      string `dynamodbav:"pic_url,omitempty"`
	URL         string `dynamodbav:"url,omitempty"`
}

func newReplyItem(r *qr.Reply) *replyItem {
	if r == nil {
		return nil
	}
	it := &replyItem{Type: r.Type, Content: r.Content, MediaID: r.MediaID}
	for _, a := range r.Articles {
		it.Articles = append(it.Articles, articleItem(a))
	}
	return it
}

func (it *replyItem) reply() *qr.Reply {
	if it == nil {
		return nil
	}
	r := &qr.Reply{Type: it.Type, Content: it.Content, MediaID: it.MediaID}
	for _, a := range it.Articles {
		r.Articles = append(r.Articles, qr.Article(a))
	}
	return r
}

func newReplyItems(rs []qr.Reply) []replyItem {
	var out []replyItem
	for i := range rs {
		out = append(out, *newReplyItem(&rs[i]))
	}
	return out
}

func replies(its []replyItem) []qr.Reply {
	var out []qr.Reply
	for i := range its {
		out = append(out, *its[i].reply())
	}
	return out
}
