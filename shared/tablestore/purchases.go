package tablestore

// The ledger: table {prefix}Purchases.
//
//	PartitionKey = agency id
//	RowKey "p-{line id}": one purchase line; lists as JSON strings; Total,
//	                  once the line is corrected, is its quantity plus its
//	                  corrections, written with each correction
//	RowKey "a-{inverted time}-{random}": one audit entry, newest first,
//	                  written in the same transaction as the change it records
//	RowKey "k-{hash of PO number and SKU}": the ledger identity of a line
//	                  (licensing.LineIdentity) and the Line holding it,
//	                  added in the same transaction as the line: a second
//	                  line with that identity cannot be added

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.PurchaseStore = (*Store)(nil)

// purchasesTable is the ledger table's name suffix.
const purchasesTable = "Purchases"

// Row key prefixes of the ledger, and the first keys after each range ('.'
// follows '-').
const (
	linePrefix  = "p-"
	lineEnd     = "p."
	auditPrefix = "a-"
	auditEnd    = "a."
	// identityPrefix starts the rows of the ledger identities.
	identityPrefix = "k-"
)

// maxBatchBytes keeps a transaction's payload under the service's 4 MiB.
const maxBatchBytes = 3 << 20

// purchasesClient returns the client of the ledger table.
func (s *Store) purchasesClient() *aztables.Client {
	for _, n := range s.names {
		if strings.HasSuffix(n, purchasesTable) {
			return s.svc.NewClient(n)
		}
	}
	// New always lists the table; reaching here is a bug.
	panic("tablestore: no " + purchasesTable + " table")
}

// AddPurchases writes the lines not stored yet, each with its audit entry
// (at the line's Created time, or now) and its identity row in the same
// transaction, grouped per agency, as many lines as a transaction of
// MaxBatch actions holds (50, or 33 with identity rows). Lines
// already stored, and repeated ids, are skipped; added lists the ids
// written. A line whose identity (licensing.LineIdentity) a stored line or
// an earlier line of lines holds is refused before anything is written
// (Conflict, licensing.IdentityTaken). When a transaction meets a row
// written concurrently (Conflict), its lines are written one by one,
// skipping those that exist, so a retry never records a line twice; a line
// whose identity a concurrent writer took is then refused, and added lists
// the lines written before it.
func (s *Store) AddPurchases(ctx context.Context, lines []licensing.Purchase, who, why string) ([]string, error) {
	const op = "tablestore.addPurchases"
	for _, p := range lines {
		if err := checkKey(op, "The agency of a purchase line", p.Agency); err != nil {
			return nil, err
		}
		if err := checkKey(op, "A purchase line id", linePrefix+p.ID); err != nil || p.ID == "" {
			return nil, licensing.Errorf(op, licensing.Invalid, "A purchase line id must be 1 to 1000 characters without '/', '\\', '#', '?' or control characters.")
		}
	}
	table := s.purchasesClient()
	byAgency := map[string][]licensing.Purchase{}
	var agencies []string
	seen := map[string]bool{}
	for _, p := range lines {
		if seen[p.Agency+"\x00"+p.ID] {
			continue
		}
		seen[p.Agency+"\x00"+p.ID] = true
		if _, ok := byAgency[p.Agency]; !ok {
			agencies = append(agencies, p.Agency)
		}
		byAgency[p.Agency] = append(byAgency[p.Agency], p)
	}
	storedIDs := map[string]map[string]bool{}
	for _, agency := range agencies {
		stored, err := s.checkIdentities(ctx, op, table, agency, byAgency[agency])
		if err != nil {
			return nil, err
		}
		storedIDs[agency] = stored
	}
	written := map[string]bool{}
	addedIDs := func() []string {
		var added []string
		for _, p := range lines {
			k := p.Agency + "\x00" + p.ID
			if written[k] {
				added = append(added, p.ID)
				delete(written, k)
			}
		}
		return added
	}
	for _, agency := range agencies {
		stored := storedIDs[agency]
		var batch []aztables.TransactionAction
		var batchLines []licensing.Purchase
		size := 0
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			err := Transact(ctx, table, op, "purchase lines of agency "+agency, batch)
			switch azerr.Classify(err) {
			case "":
				for _, p := range batchLines {
					written[p.Agency+"\x00"+p.ID] = true
				}
			case licensing.Conflict:
				if err := s.addOneByOne(ctx, op, table, batchLines, who, why, written); err != nil {
					return err
				}
			default:
				return err
			}
			batch, batchLines, size = batch[:0], batchLines[:0], 0
			return nil
		}
		for _, p := range byAgency[agency] {
			if stored[p.ID] {
				continue
			}
			actions, n, err := s.lineActions(p, who, why)
			if err != nil {
				return nil, internal(op, err)
			}
			if len(batch)+len(actions) > MaxBatch || (size+n > maxBatchBytes && len(batch) > 0) {
				if err := flush(); err != nil {
					return addedIDs(), err
				}
			}
			batch = append(batch, actions...)
			batchLines = append(batchLines, p)
			size += n
		}
		if err := flush(); err != nil {
			return addedIDs(), err
		}
	}
	return addedIDs(), nil
}

// addOneByOne writes lines in a transaction each, skipping those that
// exist, and records the ids written. A line whose identity another line
// took in the meantime is refused (Conflict, licensing.IdentityTaken).
func (s *Store) addOneByOne(ctx context.Context, op string, table *aztables.Client, lines []licensing.Purchase, who, why string, written map[string]bool) error {
	for _, p := range lines {
		actions, _, err := s.lineActions(p, who, why)
		if err != nil {
			return internal(op, err)
		}
		err = Transact(ctx, table, op, "purchase line "+p.ID, actions)
		switch azerr.Classify(err) {
		case "":
			written[p.Agency+"\x00"+p.ID] = true
		case licensing.Conflict:
			if err := s.identityHolder(ctx, op, table, p); err != nil {
				return err
			}
		default:
			return err
		}
	}
	return nil
}

// lineActions returns the adds that write p, its audit entry and its
// identity row (when it has an identity), and their size in bytes.
func (s *Store) lineActions(p licensing.Purchase, who, why string) ([]aztables.TransactionAction, int, error) {
	line, err := json.Marshal(purchaseEntity(p))
	if err != nil {
		return nil, 0, err
	}
	at := p.Created
	if !inRange(at) {
		at = s.now()
	}
	detail, err := encodePayload(purchasePayloadOf(p))
	if err != nil {
		return nil, 0, err
	}
	entry, err := json.Marshal(auditEntity(licensing.AuditEntry{
		At: at, Who: who, Action: licensing.AuditAdded, Agency: p.Agency, Purchase: p.ID, Why: why, Detail: detail,
	}))
	if err != nil {
		return nil, 0, err
	}
	actions := []aztables.TransactionAction{
		{ActionType: aztables.TransactionTypeAdd, Entity: line},
		{ActionType: aztables.TransactionTypeAdd, Entity: entry},
	}
	size := len(line) + len(entry)
	if key, ok := licensing.LineIdentity(p); ok {
		ident, err := json.Marshal(identityEntity(p, key))
		if err != nil {
			return nil, 0, err
		}
		actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: ident})
		size += len(ident)
	}
	return actions, size, nil
}

// ActivatePurchases puts agency's pending lines ids in force at at: each
// line is updated on the ETag it was read with, together with its audit
// entry, in transactions of 50 lines. Active lines are left alone; an
// unknown id is NotFound and nothing is written. A line changed in the
// meantime is read again and retried once.
func (s *Store) ActivatePurchases(ctx context.Context, agency string, ids []string, at time.Time, who, why string) error {
	const op = "tablestore.activatePurchases"
	if err := checkKey(op, "The agency id", agency); err != nil {
		return err
	}
	table := s.purchasesClient()
	type pending struct {
		id   string
		etag azcore.ETag
	}
	var todo []pending
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		p, etag, err := s.getLine(ctx, op, table, agency, id)
		if err != nil {
			return err
		}
		if p.ActivatedAt == nil {
			todo = append(todo, pending{id, etag})
		}
	}
	for start := 0; start < len(todo); start += MaxBatch / 2 {
		chunk := todo[start:min(start+MaxBatch/2, len(todo))]
		var batch []aztables.TransactionAction
		for _, t := range chunk {
			actions, err := activationActions(agency, t.id, t.etag, at, who, why)
			if err != nil {
				return internal(op, err)
			}
			batch = append(batch, actions...)
		}
		err := Transact(ctx, table, op, "purchase lines of agency "+agency, batch)
		switch azerr.Classify(err) {
		case "":
			continue
		case licensing.Stale:
		default:
			return err
		}
		// Someone changed a line of the chunk: go through it line by line.
		for _, t := range chunk {
			p, etag, err := s.getLine(ctx, op, table, agency, t.id)
			if err != nil {
				return err
			}
			if p.ActivatedAt != nil {
				continue
			}
			actions, err := activationActions(agency, t.id, etag, at, who, why)
			if err != nil {
				return internal(op, err)
			}
			if err := Transact(ctx, table, op, "purchase line "+t.id, actions); err != nil {
				return err
			}
		}
	}
	return nil
}

// getLine reads one line and its ETag; a missing one is NotFound.
func (s *Store) getLine(ctx context.Context, op string, table *aztables.Client, agency, id string) (licensing.Purchase, azcore.ETag, error) {
	what := fmt.Sprintf("purchase line %s of agency %s", id, agency)
	if id == "" || checkKey(op, "A purchase line id", linePrefix+id) != nil {
		return licensing.Purchase{}, "", licensing.Errorf(op, licensing.NotFound, "%s does not exist.", strings.ToUpper(what[:1])+what[1:])
	}
	resp, err := table.GetEntity(ctx, agency, linePrefix+id, nil)
	if err != nil {
		return licensing.Purchase{}, "", azerr.Translate(op, what, err)
	}
	props, err := decodeEntity(resp.Value)
	if err != nil {
		return licensing.Purchase{}, "", internal(op, err)
	}
	p, err := purchaseFromEntity(props)
	if err != nil {
		return licensing.Purchase{}, "", internal(op, err)
	}
	return p, resp.ETag, nil
}

// activationActions returns the merge that activates line id on etag and
// the add of its audit entry.
func activationActions(agency, id string, etag azcore.ETag, at time.Time, who, why string) ([]aztables.TransactionAction, error) {
	props := map[string]any{"PartitionKey": agency, "RowKey": linePrefix + id}
	setTime(props, "ActivatedAt", at)
	update, err := json.Marshal(props)
	if err != nil {
		return nil, err
	}
	entry, err := json.Marshal(auditEntity(licensing.AuditEntry{
		At: at, Who: who, Action: licensing.AuditActivated, Agency: agency, Purchase: id, Why: why,
	}))
	if err != nil {
		return nil, err
	}
	return []aztables.TransactionAction{
		{ActionType: aztables.TransactionTypeUpdateMerge, Entity: update, IfMatch: &etag},
		{ActionType: aztables.TransactionTypeAdd, Entity: entry},
	}, nil
}

// ListPurchases returns the lines matching f in ledger order
// (licensing.SortLedger).
func (s *Store) ListPurchases(ctx context.Context, f licensing.PurchaseFilter) ([]licensing.Purchase, error) {
	const op = "tablestore.listPurchases"
	filter := "RowKey ge " + quote(linePrefix) + " and RowKey lt " + quote(lineEnd)
	if f.Agency != "" {
		filter = "PartitionKey eq " + quote(f.Agency) + " and " + filter
	}
	if f.SRID != "" {
		filter += " and SRID eq " + quote(f.SRID)
	}
	var out []licensing.Purchase
	err := eachEntity(ctx, s.purchasesClient(), filter, op, "the purchase ledger", func(e []byte) error {
		props, err := decodeEntity(e)
		if err != nil {
			return internal(op, err)
		}
		p, err := purchaseFromEntity(props)
		if err != nil {
			return internal(op, err)
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	licensing.SortLedger(out)
	return out, nil
}

// PurchaseAudit returns agency's audit entries newest first, at most limit
// (all when limit <= 0).
func (s *Store) PurchaseAudit(ctx context.Context, agency string, limit int) ([]licensing.AuditEntry, error) {
	const op = "tablestore.purchaseAudit"
	if err := checkKey(op, "The agency id", agency); err != nil {
		return nil, err
	}
	filter := "PartitionKey eq " + quote(agency) + " and RowKey ge " + quote(auditPrefix) + " and RowKey lt " + quote(auditEnd)
	pager := s.purchasesClient().NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: pageSize(limit)})
	out := []licensing.AuditEntry{}
	for pager.More() && (limit <= 0 || len(out) < limit) {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, azerr.Translate(op, "the purchase audit of agency "+agency, err)
		}
		for _, e := range page.Entities {
			props, err := decodeEntity(e)
			if err != nil {
				return nil, internal(op, err)
			}
			if err := checkSchema(props, "purchase audit row "+getString(props, "RowKey")); err != nil {
				return nil, internal(op, err)
			}
			a := licensing.AuditEntry{
				Who: getString(props, "Who"), Action: getString(props, "Action"), Agency: getString(props, "PartitionKey"),
				Purchase: getString(props, "Purchase"), Why: getLong(props, "Why"), Detail: getLong(props, "Detail"),
			}
			if a.At, err = getTime(props, "At"); err != nil {
				return nil, internal(op, err)
			}
			out = append(out, a)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// auditEntity returns a new audit row for e: explicit columns; Detail holds
// a purchasePayload for an added line.
func auditEntity(e licensing.AuditEntry) map[string]any {
	at := e.At
	if !inRange(at) {
		at = time.Now()
	}
	props := map[string]any{
		"PartitionKey": e.Agency,
		"RowKey":       auditPrefix + invertedTime(at) + "-" + randomSuffix(),
		"Who":          e.Who,
		"Action":       e.Action,
		"Purchase":     e.Purchase,
	}
	setTime(props, "At", e.At)
	setLong(props, "Why", e.Why)
	setLong(props, "Detail", e.Detail)
	setSchema(props)
	return props
}

// purchasePayload is the JSON of a line in the Detail property of the audit
// row that records its addition. It is kept for the record and returned as
// written, never read back into a line.
type purchasePayload struct {
	ID          string     `json:"id"`
	Agency      string     `json:"agency"`
	SkuID       string     `json:"skuId"`
	PartNumber  string     `json:"skuPartNumber,omitempty"`
	Quantity    int        `json:"quantity"`
	TermStart   dayJSON    `json:"termStart"`
	TermEnd     dayJSON    `json:"termEnd"`
	PONumber    string     `json:"poNumber"`
	Reseller    string     `json:"reseller,omitempty"`
	Agreement   string     `json:"agreement,omitempty"`
	UnitPrice   string     `json:"unitPrice,omitempty"`
	Currency    string     `json:"currency,omitempty"`
	SRID        string     `json:"serviceRequest,omitempty"`
	Source      string     `json:"source"`
	Corrects    string     `json:"corrects,omitempty"`
	Replaces    []string   `json:"replaces,omitempty"`
	ActivatedAt *time.Time `json:"activatedAt,omitempty"`
	Created     time.Time  `json:"created"`
	CreatedBy   string     `json:"createdBy"`
	Reason      string     `json:"reason,omitempty"`
}

func purchasePayloadOf(p licensing.Purchase) purchasePayload {
	return purchasePayload{
		ID: p.ID, Agency: p.Agency, SkuID: p.SkuID, PartNumber: p.PartNumber, Quantity: p.Quantity,
		TermStart: dayOf(p.TermStart), TermEnd: dayOf(p.TermEnd), PONumber: p.PONumber, Reseller: p.Reseller,
		Agreement: p.Agreement, UnitPrice: priceText(p.UnitPrice), Currency: p.Currency, SRID: p.SRID, Source: p.Source,
		Corrects: p.Corrects, Replaces: p.Replaces, ActivatedAt: p.ActivatedAt, Created: p.Created, CreatedBy: p.CreatedBy, Reason: p.Reason,
	}
}

// purchaseEntity returns the row of line p.
func purchaseEntity(p licensing.Purchase) map[string]any {
	props := map[string]any{
		"PartitionKey": p.Agency,
		"RowKey":       linePrefix + p.ID,
		"ID":           p.ID,
		"SkuID":        p.SkuID,
		"PartNumber":   p.PartNumber,
		"Quantity":     p.Quantity,
		"TermStart":    p.TermStart.String(),
		"TermEnd":      p.TermEnd.String(),
		"PONumber":     p.PONumber,
		"Reseller":     p.Reseller,
		"Agreement":    p.Agreement,
		"SRID":         p.SRID,
		"Source":       p.Source,
		"Corrects":     p.Corrects,
		"CreatedBy":    p.CreatedBy,
	}
	if len(p.Replaces) > 0 {
		setLong(props, "Replaces", mustJSON([]string(p.Replaces)))
	}
	if p.ActivatedAt != nil {
		setTime(props, "ActivatedAt", *p.ActivatedAt)
	}
	if p.UnitPrice != nil {
		// Decimal text, so that no reader sees a float.
		props["UnitPrice"] = priceText(p.UnitPrice)
		props["Currency"] = p.Currency
	}
	setTime(props, "Created", p.Created)
	setLong(props, "Reason", p.Reason)
	return props
}

// purchaseFromEntity reads a line row.
func purchaseFromEntity(props map[string]any) (licensing.Purchase, error) {
	p := licensing.Purchase{
		ID:         getString(props, "ID"),
		Agency:     getString(props, "PartitionKey"),
		SkuID:      getString(props, "SkuID"),
		PartNumber: getString(props, "PartNumber"),
		PONumber:   getString(props, "PONumber"),
		Reseller:   getString(props, "Reseller"),
		Agreement:  getString(props, "Agreement"),
		SRID:       getString(props, "SRID"),
		Source:     getString(props, "Source"),
		Corrects:   getString(props, "Corrects"),
		CreatedBy:  getString(props, "CreatedBy"),
		Reason:     getLong(props, "Reason"),
	}
	if p.ID == "" {
		p.ID = strings.TrimPrefix(getString(props, "RowKey"), linePrefix)
	}
	if v := getString(props, "UnitPrice"); v != "" {
		if p.UnitPrice = priceOf(v); p.UnitPrice == nil {
			return p, fmt.Errorf("purchase line %s property UnitPrice: %q is not a price", p.ID, v)
		}
		p.Currency = getString(props, "Currency")
	}
	q, ok := props["Quantity"].(float64)
	if !ok {
		return p, fmt.Errorf("purchase line %s has no quantity", p.ID)
	}
	p.Quantity = int(q)
	var err error
	for _, d := range []struct {
		name string
		dst  *licensing.Date
	}{{"TermStart", &p.TermStart}, {"TermEnd", &p.TermEnd}} {
		if v := getString(props, d.name); v != "" {
			if *d.dst, err = licensing.ParseDate(v); err != nil {
				return p, fmt.Errorf("purchase line %s property %s: %w", p.ID, d.name, err)
			}
		}
	}
	if r := getLong(props, "Replaces"); r != "" {
		var replaces []string
		if err := json.Unmarshal([]byte(r), &replaces); err != nil {
			return p, fmt.Errorf("purchase line %s property Replaces: %w", p.ID, err)
		}
		p.Replaces = replaces
	}
	if p.Created, err = getTime(props, "Created"); err != nil {
		return p, err
	}
	act, err := getTime(props, "ActivatedAt")
	if err != nil {
		return p, err
	}
	if !act.IsZero() {
		p.ActivatedAt = &act
	}
	return p, nil
}

// priceText writes a unit price as decimal text (12.5000); "" for none.
func priceText(a *licensing.Amount) string {
	if a == nil {
		return ""
	}
	return a.Decimal()
}

// priceOf reads priceText's text; nil for "" or text that is not a price.
func priceOf(s string) *licensing.Amount {
	if s == "" {
		return nil
	}
	a, err := licensing.ParseAmount(s)
	if err != nil {
		return nil
	}
	return &a
}
