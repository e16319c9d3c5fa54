package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/qr"
)

type sessionItem struct {
	key
	ID        string `dynamodbav:"id"`
	Scene     string `dynamodbav:"scene"`
	Ticket    string `dynamodbav:"ticket"`
	URL       string `dynamodbav:"url"`
	Status    string `dynamodbav:"status"`
	OpenID    string `dynamodbav:"openid,omitempty"`
	ScannedAt int64  `dynamodbav:"scanned_at,omitempty"`
	CreatedAt int64  `dynamodbav:"created_at"`
	ExpiresAt int64  `dynamodbav:"expires_at"`
	ExpireAt  int64  `dynamodbav:"expire_at"` // TTL
}

// SessionTTL is how long a session is kept after its code expires, so a browser
// polling late still reads "expired" or its result rather than "not found".
const SessionTTL = time.Hour

func (it sessionItem) session() *qr.Session {
	s := &qr.Session{
		ID: it.ID, Scene: it.Scene, Ticket: it.Ticket, URL: it.URL, Status: it.Status, OpenID: it.OpenID,
		CreatedAt: time.Unix(it.CreatedAt, 0).UTC(), ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC(),
	}
	if it.ScannedAt != 0 {
		s.ScannedAt = time.Unix(it.ScannedAt, 0).UTC()
	}
	return s
}

// CreateSession stores a new pending session; its id must be new.
func (s *Store) CreateSession(ctx context.Context, sess *qr.Session) error {
	av, err := attributevalue.MarshalMap(sessionItem{
		key: s.at(sessionKey(sess.ID)), ID: sess.ID, Scene: sess.Scene, Ticket: sess.Ticket, URL: sess.URL,
		Status: qr.SessionPending, CreatedAt: sess.CreatedAt.Unix(), ExpiresAt: sess.ExpiresAt.Unix(),
		ExpireAt: sess.ExpiresAt.Add(SessionTTL).Unix(),
	})
	if err != nil {
		return fmt.Errorf("dynamo: marshal session: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.tables.Scenes, Item: av, ConditionExpression: aws.String(absent),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return qr.Errorf(qr.EConflict, "the log-in session exists") // no id: errors are logged
	}
	if err != nil {
		return unavailable("create session", err)
	}
	return nil
}

// Session reads a session, strongly consistent (a browser waits on it); ENotFound
// when there is none (never created, or deleted by TTL).
func (s *Store) Session(ctx context.Context, id string) (*qr.Session, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Scenes, Key: s.at(sessionKey(id)).av(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, unavailable("get session", err)
	}
	if out.Item == nil {
		return nil, qr.Errorf(qr.ENotFound, "no such log-in session (it may have expired)") // no id: errors are logged
	}
	var it sessionItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("dynamo: unmarshal session: %w", err)
	}
	return it.session(), nil
}

// BindSession binds session id to openid if it is still pending and unexpired at
// at, in one transaction with the push's claim c. It returns LoginBound (written),
// or LoginUsed or LoginExpired with nothing written; or, when another delivery of
// the push claimed it first, that claim.
func (s *Store) BindSession(ctx context.Context, c qr.Claim, id, openid string, at time.Time) (outcome string, prior *qr.Claim, err error) {
	// The claim names the session it bound: erasing openid finds the session from it
	// (the claim outlives the session, a day against at most two hours).
	claim, err := attributevalue.MarshalMap(claimItem{key: s.at(claimKey(openid, c.Key)), Reply: c.Reply, At: c.At.Unix(), Login: id, ExpireAt: s.expireAt(c.At, s.claimTTL)})
	if err != nil {
		return "", nil, fmt.Errorf("dynamo: marshal claim: %w", err)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: &s.tables.Events, Item: claim,
			ConditionExpression:                 aws.String(absent),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Update: &types.Update{
			TableName:           &s.tables.Scenes,
			Key:                 s.at(sessionKey(id)).av(),
			UpdateExpression:    aws.String("SET #st = :scanned, #o = :openid, #sa = :at"),
			ConditionExpression: aws.String(present + " AND #st = :pending AND #ea > :at"),
			ExpressionAttributeNames: map[string]string{
				"#st": "status", "#o": attrOpenID, "#sa": "scanned_at", "#ea": "expires_at",
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":scanned": &types.AttributeValueMemberS{Value: qr.SessionScanned},
				":pending": &types.AttributeValueMemberS{Value: qr.SessionPending},
				":openid":  &types.AttributeValueMemberS{Value: openid},
				":at":      number(at.Unix()),
			},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
	}
	if c.Signed != nil {
		items = append(items, s.signatureItem(c.Signed))
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return qr.LoginBound, nil, nil
	}
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) || len(tce.CancellationReasons) != len(items) {
		return "", nil, unavailable("bind session", err)
	}
	reasons := tce.CancellationReasons
	if len(items) == 3 && aws.ToString(reasons[2].Code) == "ConditionalCheckFailed" {
		return "", nil, qr.ErrSignatureReused
	}
	if aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" && reasons[0].Item != nil {
		var it claimItem
		if err := attributevalue.UnmarshalMap(reasons[0].Item, &it); err != nil {
			return "", nil, fmt.Errorf("dynamo: unmarshal claim: %w", err)
		}
		return "", it.claim(s.ns, c.Key), nil
	}
	if aws.ToString(reasons[1].Code) != "ConditionalCheckFailed" {
		return "", nil, unavailable("bind session", err)
	}
	var it sessionItem
	if reasons[1].Item == nil || attributevalue.UnmarshalMap(reasons[1].Item, &it) != nil {
		return qr.LoginExpired, nil, nil // never created, or deleted by TTL
	}
	if it.Status == qr.SessionScanned {
		return qr.LoginUsed, nil, nil
	}
	return qr.LoginExpired, nil, nil
}
