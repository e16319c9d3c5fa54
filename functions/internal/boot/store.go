package boot

import (
	"fmt"
	"strconv"
	"time"

	"wechatqr/shared/dynamo"
)

// Store builds the scenes-and-events store from SCENES_TABLE, EVENTS_TABLE and
// STATS_SHARDS (the counter shards; the callback writes and the API reads them,
// so the template gives both the same value) and SCAN_RETENTION_DAYS (how long
// anything naming a follower is kept).
func (e *Env) Store() (*dynamo.Store, error) {
	var opts dynamo.Options
	if v := e.Getenv("STATS_SHARDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("STATS_SHARDS: %q is not a whole number", v)
		}
		opts.Shards = n
	}
	if v := e.Getenv("SCAN_RETENTION_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("SCAN_RETENTION_DAYS: %q is not a whole number of days, 1 or more", v)
		}
		opts.Retention = time.Duration(n) * 24 * time.Hour
	}
	return dynamo.New(e.DynamoDB(), dynamo.Tables{
		Scenes: e.Getenv("SCENES_TABLE"),
		Events: e.Getenv("EVENTS_TABLE"),
	}, opts)
}
