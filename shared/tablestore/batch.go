package tablestore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// MaxBatch is the most actions one entity group transaction may hold.
const MaxBatch = 100

// Transact submits actions to table as one entity group transaction: all
// of them take effect or none does. They must be 1 to MaxBatch actions on
// distinct rows of one partition; anything else is refused as Internal
// before anything is sent (it is a bug in the caller).
//
// A failed transaction is translated by the failing action's own status:
// an Add of an existing row is Conflict, a stale IfMatch is Stale, an
// UpdateReplace or Delete of a missing row is NotFound, and so on (see
// package azerr). what names the thing written, for the message.
func Transact(ctx context.Context, table *aztables.Client, op, what string, actions []aztables.TransactionAction) error {
	if err := checkBatch(actions); err != nil {
		return licensing.Wrap(op, licensing.Internal, azerr.Message(licensing.Internal, ""), err)
	}
	_, err := table.SubmitTransaction(ctx, actions, nil)
	return azerr.Translate(op, what, err)
}

func checkBatch(actions []aztables.TransactionAction) error {
	if len(actions) == 0 {
		return fmt.Errorf("tablestore: empty transaction")
	}
	if len(actions) > MaxBatch {
		return fmt.Errorf("tablestore: a transaction holds at most %d actions, not %d", MaxBatch, len(actions))
	}
	var partition string
	rows := map[string]bool{}
	for i, a := range actions {
		var keys struct {
			PartitionKey *string
			RowKey       *string
		}
		if err := json.Unmarshal(a.Entity, &keys); err != nil {
			return fmt.Errorf("tablestore: transaction action %d: %w", i, err)
		}
		if keys.PartitionKey == nil || keys.RowKey == nil {
			return fmt.Errorf("tablestore: transaction action %d has no PartitionKey or RowKey", i)
		}
		if i == 0 {
			partition = *keys.PartitionKey
		} else if *keys.PartitionKey != partition {
			return fmt.Errorf("tablestore: transaction action %d is in partition %q, not %q: one transaction, one partition", i, *keys.PartitionKey, partition)
		}
		if rows[*keys.RowKey] {
			return fmt.Errorf("tablestore: transaction actions name row %q twice", *keys.RowKey)
		}
		rows[*keys.RowKey] = true
	}
	return nil
}
