package tablestore

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// runsPartition is the one partition of the runs table.
const runsPartition = "runs"

// maxRunMessage caps a run's message, in UTF-16 code units, to keep it in
// one property.
const maxRunMessage = maxChunk

// runRowKey is the row of a run: the inverted start time, so that newer runs
// sort first, then the id. A run keeps its row because Started never
// changes.
func runRowKey(r licensing.Run) string {
	return invertedTime(r.Started) + "-" + r.ID
}

// PutRun creates or replaces the record of r.
func (s *Store) PutRun(ctx context.Context, r licensing.Run) error {
	const op = "tablestore.putRun"
	if err := checkKey(op, "The run id", r.ID); err != nil {
		return err
	}
	if !inRange(r.Started) {
		return licensing.Errorf(op, licensing.Invalid, "The run's start time must be between 1970 and 2262.")
	}
	props := map[string]any{
		"PartitionKey": runsPartition,
		"RowKey":       runRowKey(r),
		"RunID":        r.ID,
		"Function":     r.Function,
		"Trigger":      r.Trigger,
		"Outcome":      r.Outcome,
		"Message":      truncateUnits(r.Message, maxRunMessage),
		"Counts":       mustJSON(map[string]int(r.Counts)),
	}
	setTime(props, "Started", r.Started)
	if r.Ended != nil {
		setTime(props, "Ended", *r.Ended)
	}
	b, err := json.Marshal(props)
	if err != nil {
		return internal(op, err)
	}
	_, err = s.runs.UpsertEntity(ctx, b, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
	return azerr.Translate(op, "run "+r.ID, err)
}

// ListRuns returns runs newest first: of f.Function only when set, started
// at or after f.Since when set, at most f.Limit when above 0.
func (s *Store) ListRuns(ctx context.Context, f licensing.RunFilter) ([]licensing.Run, error) {
	const op = "tablestore.listRuns"
	filter := "PartitionKey eq " + quote(runsPartition)
	if !f.Since.IsZero() {
		if f.Since.Before(time.Unix(0, 0)) {
			f.Since = time.Unix(0, 0)
		}
		if inRange(f.Since) {
			// Every run started at or after Since has a row key at or
			// below Since's inverted time followed by "-".
			filter += " and RowKey lt " + quote(invertedTime(f.Since)+".")
		}
	}
	if f.Function != "" {
		filter += " and Function eq " + quote(f.Function)
	}
	pager := s.runs.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: pageSize(f.Limit)})
	var out []licensing.Run
	for pager.More() && (f.Limit <= 0 || len(out) < f.Limit) {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, azerr.Translate(op, "the run list", err)
		}
		for _, e := range page.Entities {
			r, err := runFromEntity(e)
			if err != nil {
				return nil, internal(op, err)
			}
			out = append(out, r)
			if f.Limit > 0 && len(out) == f.Limit {
				break
			}
		}
	}
	return out, nil
}

func runFromEntity(b []byte) (licensing.Run, error) {
	props, err := decodeEntity(b)
	if err != nil {
		return licensing.Run{}, err
	}
	r := licensing.Run{
		ID:       getString(props, "RunID"),
		Function: getString(props, "Function"),
		Trigger:  getString(props, "Trigger"),
		Outcome:  getString(props, "Outcome"),
		Message:  getString(props, "Message"),
	}
	// Started comes from the row key, exact to the nanosecond.
	rk := getString(props, "RowKey")
	inv, _, ok := strings.Cut(rk, "-")
	n, err := strconv.ParseInt(inv, 10, 64)
	if !ok || err != nil {
		return r, fmt.Errorf("run row key %q is not {inverted time}-{id}", rk)
	}
	r.Started = time.Unix(0, math.MaxInt64-n).UTC()
	if _, ok := props["Ended"]; ok {
		ended, err := getTime(props, "Ended")
		if err != nil {
			return r, err
		}
		r.Ended = &ended
	}
	if c := getString(props, "Counts"); c != "" && c != "null" {
		var counts map[string]int
		if err := json.Unmarshal([]byte(c), &counts); err != nil {
			return r, fmt.Errorf("run %s counts: %w", r.ID, err)
		}
		r.Counts = counts
	}
	return r, nil
}

// truncateUnits cuts s to at most n UTF-16 code units, on a rune boundary.
func truncateUnits(s string, n int) string {
	units := 0
	for i, r := range s {
		if r >= 0x10000 {
			units += 2
		} else {
			units++
		}
		if units > n {
			return s[:i]
		}
	}
	return s
}
