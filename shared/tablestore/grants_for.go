package tablestore

import (
	"context"
	"sync"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// grantReaders is how many point reads of grants GrantsFor makes at once.
const grantReaders = 16

// GrantsFor returns the grants of skuID made for agency (one query of the
// SKU's partition, filtered on Agency) and those of the users listed that
// the query did not return (a point read each; a user without a grant is
// left out).
func (s *Store) GrantsFor(ctx context.Context, skuID, agency string, users []string) ([]licensing.LicenseGrant, error) {
	const op = "tablestore.grantsFor"
	if err := checkSku(op, skuID); err != nil {
		return nil, err
	}
	table := s.provisioningTable(grantsTable)
	var out []licensing.LicenseGrant
	seen := map[string]bool{}
	filter := "PartitionKey eq " + quote(skuID) + " and Agency eq " + quote(agency)
	err := eachEntity(ctx, table, filter, op, "the grants of SKU "+skuID+" for agency "+agency, func(raw []byte) error {
		g, err := grantFrom(op, raw)
		if err != nil {
			return err
		}
		seen[g.UserID] = true
		out = append(out, g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var rest []string
	for _, id := range users {
		if !seen[id] && checkKey(op, "", id) == nil {
			seen[id] = true
			rest = append(rest, id)
		}
	}
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		first error
	)
	sem := make(chan struct{}, grantReaders)
	for _, id := range rest {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			g, err := s.readGrant(ctx, op, skuID, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				out = append(out, g)
			case licensing.ErrorCode(err) != licensing.NotFound && first == nil:
				first = err
			}
		}()
	}
	wg.Wait()
	return out, first
}

// readGrant reads the grant of skuID to user.
func (s *Store) readGrant(ctx context.Context, op, skuID, user string) (licensing.LicenseGrant, error) {
	resp, err := s.provisioningTable(grantsTable).GetEntity(ctx, skuID, user, nil)
	if err != nil {
		return licensing.LicenseGrant{}, azerr.Translate(op, "the grant of SKU "+skuID+" to user "+user, err)
	}
	g, err := grantFrom(op, resp.Value)
	if err != nil {
		return licensing.LicenseGrant{}, err
	}
	g.ETag = string(resp.ETag)
	return g, nil
}
