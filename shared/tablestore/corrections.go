package tablestore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// maxCorrectionAttempts bounds how many times AddCorrection reads a line
// again after another write to it won the race.
const maxCorrectionAttempts = 16

// AddCorrection writes correction c of line c.Corrects (see
// licensing.PurchaseStore): it reads the line with its ETag and its total
// (its quantity plus the corrections stored), checks that the total stays
// at zero or above, and writes in one transaction the correction, its audit
// entry and the line's new Total, conditioned on that ETag. A concurrent
// change to the line (another correction, an activation) fails the
// transaction as Stale, and it reads and checks again, at most
// maxCorrectionAttempts times. A stored line with c.ID is returned as it
// is, created false.
func (s *Store) AddCorrection(ctx context.Context, c licensing.Purchase, who, why string) (licensing.Purchase, bool, error) {
	const op = "tablestore.addCorrection"
	if err := checkKey(op, "The agency of a correction", c.Agency); err != nil {
		return licensing.Purchase{}, false, err
	}
	for _, id := range []string{c.ID, c.Corrects} {
		if id == "" || checkKey(op, "", linePrefix+id) != nil {
			return licensing.Purchase{}, false, licensing.Errorf(op, licensing.Invalid, "A correction and the line it corrects need ids of 1 to 1000 characters without '/', '\\', '#', '?' or control characters.")
		}
	}
	table := s.purchasesClient()
	for attempt := 0; attempt < maxCorrectionAttempts; attempt++ {
		prev, _, err := s.getLine(ctx, op, table, c.Agency, c.ID)
		switch licensing.ErrorCode(err) {
		case "":
			return prev, false, nil
		case licensing.NotFound:
		default:
			return licensing.Purchase{}, false, err
		}
		base, etag, err := s.getLine(ctx, op, table, c.Agency, c.Corrects)
		if err != nil {
			return licensing.Purchase{}, false, err
		}
		if base.Corrects != "" {
			return licensing.Purchase{}, false, licensing.Errorf(op, licensing.Invalid, "Line %s is a correction itself; correct line %s instead.", base.ID, base.Corrects)
		}
		total, err := s.correctedTotal(ctx, op, table, base)
		if err != nil {
			return licensing.Purchase{}, false, err
		}
		if total+c.Quantity < 0 {
			return licensing.Purchase{}, false, licensing.NegativeTotal(op, base.ID, total, c.Quantity)
		}
		actions, _, err := s.lineActions(c, who, why)
		if err != nil {
			return licensing.Purchase{}, false, internal(op, err)
		}
		update, err := json.Marshal(map[string]any{"PartitionKey": c.Agency, "RowKey": linePrefix + base.ID, "Total": total + c.Quantity})
		if err != nil {
			return licensing.Purchase{}, false, internal(op, err)
		}
		actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeUpdateMerge, Entity: update, IfMatch: &etag})
		err = Transact(ctx, table, op, "the correction of purchase line "+base.ID, actions)
		switch azerr.Classify(err) {
		case "":
			return c, true, nil
		case licensing.Stale, licensing.Conflict:
			// Another write to the line, or this correction written
			// concurrently: read again.
		default:
			return licensing.Purchase{}, false, err
		}
	}
	return licensing.Purchase{}, false, licensing.Errorf(op, licensing.Stale,
		"Line %s was changed by other writes %d times while this correction was checked; send the correction again (with the same Idempotency-Key).", c.Corrects, maxCorrectionAttempts)
}

// correctedTotal returns the seats of line base in all: its quantity plus
// the quantities of the corrections stored for it.
func (s *Store) correctedTotal(ctx context.Context, op string, table *aztables.Client, base licensing.Purchase) (int, error) {
	filter := "PartitionKey eq " + quote(base.Agency) + " and RowKey ge " + quote(linePrefix) + " and RowKey lt " + quote(lineEnd) +
		" and Corrects eq " + quote(base.ID)
	total := base.Quantity
	err := eachSelected(ctx, table, filter, "Quantity", op, "the corrections of purchase line "+base.ID, func(props map[string]any) error {
		q, ok := props["Quantity"].(float64)
		if !ok {
			return fmt.Errorf("a correction of purchase line %s has no quantity", base.ID)
		}
		total += int(q)
		return nil
	})
	return total, err
}
