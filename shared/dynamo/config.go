package dynamo

import (
	"fmt"
	"strconv"
	"time"
)

// ConfigFromEnv reads the tables and the store's options from the environment,
// as the template sets them: SCENES_TABLE, EVENTS_TABLE, TOKENS_TABLE (each
// function gets the ones it uses; New and NewTokens say when one is missing),
// STATS_SHARDS (the counter shards; the callback writes and the API reads them,
// so the template gives both the same value) and SCAN_RETENTION_DAYS (how long
// anything naming a follower is kept). Errors name the variable.
func ConfigFromEnv(getenv func(string) string) (Tables, Options, error) {
	tables := Tables{Scenes: getenv("SCENES_TABLE"), Events: getenv("EVENTS_TABLE"), Tokens: getenv("TOKENS_TABLE")}
	var opts Options
	if v := getenv("STATS_SHARDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return Tables{}, Options{}, fmt.Errorf("STATS_SHARDS: %q is not a whole number", v)
		}
		opts.Shards = n
	}
	if v := getenv("SCAN_RETENTION_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return Tables{}, Options{}, fmt.Errorf("SCAN_RETENTION_DAYS: %q is not a whole number of days, 1 or more", v)
		}
		opts.Retention = time.Duration(n) * 24 * time.Hour
	}
	return tables, opts, nil
}
