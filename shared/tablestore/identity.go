package tablestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// identityRowKey is the row key of the identity row of key (see
// licensing.LineIdentity): a hash, since a PO number may hold '/', which a
// row key may not.
func identityRowKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return identityPrefix + hex.EncodeToString(sum[:16])
}

// identityEntity returns the identity row of line p, whose identity is key.
func identityEntity(p licensing.Purchase, key string) map[string]any {
	return map[string]any{
		"PartitionKey": p.Agency,
		"RowKey":       identityRowKey(key),
		"Line":         p.ID,
		"PONumber":     p.PONumber,
		"SkuID":        p.SkuID,
	}
}

// identityColumns are the columns of a line that checkIdentities reads:
// enough to tell its identity and to name it in a message.
const identityColumns = "PartitionKey,RowKey,ID,SkuID,PartNumber,Quantity,PONumber,SRID,Source,Corrects"

// checkIdentities reads the stored lines of agency and refuses the first
// line of lines not stored yet whose identity a stored line, or an earlier
// line of lines, holds (Conflict, licensing.IdentityTaken). Lines stored
// before identity rows existed count as well. It returns the ids of the
// stored lines.
func (s *Store) checkIdentities(ctx context.Context, op string, table *aztables.Client, agency string, lines []licensing.Purchase) (map[string]bool, error) {
	filter := "PartitionKey eq " + quote(agency) + " and RowKey ge " + quote(linePrefix) + " and RowKey lt " + quote(lineEnd)
	ids := map[string]bool{}
	held := map[string]licensing.Purchase{}
	err := eachSelected(ctx, table, filter, identityColumns, op, "the purchase lines of agency "+agency, func(props map[string]any) error {
		p, err := purchaseFromEntity(props)
		if err != nil {
			return err
		}
		ids[strings.TrimPrefix(getString(props, "RowKey"), linePrefix)] = true
		if k, ok := licensing.LineIdentity(p); ok {
			if h, dup := held[k]; !dup || p.ID < h.ID {
				held[k] = p
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, p := range lines {
		if ids[p.ID] {
			continue
		}
		k, ok := licensing.LineIdentity(p)
		if !ok {
			continue
		}
		if h, taken := held[k]; taken && h.ID != p.ID {
			return nil, licensing.IdentityTaken(op, h)
		}
		held[k] = p
	}
	return ids, nil
}

// eachSelected calls fn with the columns sel of every entity of table that
// filter matches. A failed read is translated for what; an entity that
// does not decode, or that fn refuses, is Internal.
func eachSelected(ctx context.Context, table *aztables.Client, filter, sel, op, what string, fn func(props map[string]any) error) error {
	pager := table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return azerr.Translate(op, what, err)
		}
		for _, e := range page.Entities {
			props, err := decodeEntity(e)
			if err == nil {
				err = fn(props)
			}
			if err != nil {
				return internal(op, err)
			}
		}
	}
	return nil
}

// identityHolder explains a Conflict met writing line p: nil when p itself
// is stored (its identity row names it, or it has none), else the Conflict
// naming the line that holds p's identity.
func (s *Store) identityHolder(ctx context.Context, op string, table *aztables.Client, p licensing.Purchase) error {
	key, ok := licensing.LineIdentity(p)
	if !ok {
		return nil
	}
	resp, err := table.GetEntity(ctx, p.Agency, identityRowKey(key), nil)
	if azerr.Classify(err) == licensing.NotFound {
		return nil
	}
	if err != nil {
		return azerr.Translate(op, "the ledger identity of purchase line "+p.ID, err)
	}
	props, err := decodeEntity(resp.Value)
	if err != nil {
		return internal(op, err)
	}
	holder := getString(props, "Line")
	if holder == p.ID {
		return nil
	}
	line, _, err := s.getLine(ctx, op, table, p.Agency, holder)
	if err != nil {
		return err
	}
	return licensing.IdentityTaken(op, line)
}
