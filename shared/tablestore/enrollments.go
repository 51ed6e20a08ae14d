package tablestore

// Enterprise Agreement enrollments: table {prefix}Enrollments (the layout
// is in store.go's package comment). One row per enrollment, written whole
// by PutEnrollment: a create is an insert-only Add, a replace an
// UpdateReplace on the ETag read or given, so two writers never both win.

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"unicode/utf16"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.EnrollmentStore = (*Store)(nil)

const (
	// enrollmentsTable is the enrollments table's name suffix.
	enrollmentsTable = "Enrollments"
	// enrollmentsPartition is the one partition of the enrollments table.
	enrollmentsPartition = "enrollments"
)

// enrollmentTable returns the client of the enrollments table.
func (s *Store) enrollmentTable() *aztables.Client { return s.provisioningTable(enrollmentsTable) }

// GetEnrollment returns the enrollment number, or NotFound.
func (s *Store) GetEnrollment(ctx context.Context, number string) (licensing.Enrollment, error) {
	const op = "tablestore.getEnrollment"
	if err := checkKey(op, "The enrollment number", number); err != nil {
		return licensing.Enrollment{}, err
	}
	resp, err := s.enrollmentTable().GetEntity(ctx, enrollmentsPartition, number, nil)
	if err != nil {
		return licensing.Enrollment{}, azerr.Translate(op, "enrollment "+number, err)
	}
	e, err := enrollmentFromJSON(resp.Value)
	if err != nil {
		return licensing.Enrollment{}, internal(op, err)
	}
	e.ETag = string(resp.ETag)
	return e, nil
}

// ListEnrollments returns every enrollment ordered by number.
func (s *Store) ListEnrollments(ctx context.Context) ([]licensing.Enrollment, error) {
	const op = "tablestore.listEnrollments"
	filter := "PartitionKey eq " + quote(enrollmentsPartition)
	var out []licensing.Enrollment
	err := eachEntity(ctx, s.enrollmentTable(), filter, op, "the enrollment list", func(raw []byte) error {
		props, err := decodeEntity(raw)
		if err != nil {
			return internal(op, err)
		}
		e, err := enrollmentFromEntity(props)
		if err != nil {
			return internal(op, err)
		}
		e.ETag = etagOf(props)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}

// PutEnrollment creates or replaces e. With pre.IfNoneMatch it only creates
// (an existing enrollment is Stale); with pre.IfMatch ("*" or an ETag) it
// only replaces the enrollment with that ETag (a different or missing one
// is Stale); with neither it creates or replaces, conditionally on what it
// read, retried once, and Stale if it loses twice. It returns e as stored,
// with its new ETag.
func (s *Store) PutEnrollment(ctx context.Context, e licensing.Enrollment, pre licensing.Precondition) (licensing.Enrollment, bool, error) {
	const op = "tablestore.putEnrollment"
	if err := checkKey(op, "The enrollment number", e.Number); err != nil {
		return licensing.Enrollment{}, false, err
	}
	props := enrollmentEntity(e)
	if n := entityBytes(props); n > maxEntityBytes {
		return licensing.Enrollment{}, false, licensing.Errorf(op, licensing.Invalid,
			"Enrollment %s takes %d KiB stored, more than the %d KiB one record holds; shorten its lists or names.", e.Number, (n+1023)>>10, maxEntityBytes>>10)
	}
	raw, err := json.Marshal(props)
	if err != nil {
		return licensing.Enrollment{}, false, internal(op, err)
	}
	table, what := s.enrollmentTable(), "enrollment "+e.Number
	var etag string
	created := pre.IfNoneMatch
	if pre.IfNoneMatch || pre.IfMatch != "" {
		etag, err = putRow(ctx, table, op, what, raw, pre)
	} else {
		for attempt := 0; attempt < 2; attempt++ {
			var current licensing.Precondition
			if current, err = s.enrollmentVersion(ctx, op, e.Number); err != nil {
				break
			}
			created = current.IfNoneMatch
			if etag, err = putRow(ctx, table, op, what, raw, current); licensing.ErrorCode(err) != licensing.Stale {
				break
			}
		}
	}
	if err != nil {
		return licensing.Enrollment{}, false, err
	}
	stored, err := enrollmentFromJSON(raw)
	if err != nil {
		return licensing.Enrollment{}, false, internal(op, err)
	}
	stored.ETag = etag
	return stored, created, nil
}

// enrollmentVersion returns the precondition that writes over the stored
// enrollment number as it is now: If-Match its ETag, or If-None-Match when
// there is none.
func (s *Store) enrollmentVersion(ctx context.Context, op, number string) (licensing.Precondition, error) {
	resp, err := s.enrollmentTable().GetEntity(ctx, enrollmentsPartition, number, nil)
	switch azerr.Classify(err) {
	case "":
		return licensing.Precondition{IfMatch: string(resp.ETag)}, nil
	case licensing.NotFound:
		return licensing.Precondition{IfNoneMatch: true}, nil
	default:
		return licensing.Precondition{}, azerr.Translate(op, "enrollment "+number, err)
	}
}

// enrollmentEntity returns the row of e: explicit columns, the lists as
// JSON of this package's payload types.
func enrollmentEntity(e licensing.Enrollment) map[string]any {
	props := map[string]any{
		"PartitionKey": enrollmentsPartition,
		"RowKey":       e.Number,
		"Anniversary":  e.Anniversary.String(),
		"Kind":         e.Kind,
		"LastReported": e.LastReported,
		"UpdatedBy":    e.UpdatedBy,
	}
	setLong(props, "PlatformProducts", plainJSON(mapSlice(e.PlatformProducts, platformProductPayloadOf)))
	setLong(props, "Reservations", plainJSON(mapSlice(e.Reservations, serviceChangePayloadOf)))
	setLong(props, "Transitions", plainJSON(mapSlice(e.Transitions, serviceChangePayloadOf)))
	setLong(props, "Reductions", plainJSON(mapSlice(e.Reductions, reductionPayloadOf)))
	setTime(props, "Updated", e.Updated)
	setSchema(props)
	return props
}

// plainJSON is mustJSON without escaping <, > and & as \u003c and the
// like, which would take six times their room: the largest enrollment
// Validate accepts then fits one entity.
func plainJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only this package's payloads come here.
		panic("tablestore: " + err.Error())
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// enrollmentFromJSON reads a row as encoded for, or returned by, the
// service.
func enrollmentFromJSON(raw []byte) (licensing.Enrollment, error) {
	props, err := decodeEntity(raw)
	if err != nil {
		return licensing.Enrollment{}, err
	}
	return enrollmentFromEntity(props)
}

// enrollmentFromEntity reads an enrollment row.
func enrollmentFromEntity(props map[string]any) (licensing.Enrollment, error) {
	e := licensing.Enrollment{
		Number:    getString(props, "RowKey"),
		Kind:      getString(props, "Kind"),
		UpdatedBy: getString(props, "UpdatedBy"),
	}
	what := "enrollment " + e.Number
	if err := checkSchema(props, what); err != nil {
		return e, err
	}
	var err error
	if e.Anniversary, err = dayJSON(getString(props, "Anniversary")).date(); err != nil {
		return e, errors.New(what + " property Anniversary: " + err.Error())
	}
	if n, ok := props["LastReported"].(float64); ok {
		e.LastReported = int(n)
	}
	if e.Updated, err = getTime(props, "Updated"); err != nil {
		return e, err
	}
	var (
		products                  []platformProductPayload
		reservations, transitions []serviceChangePayload
		reductions                []reductionPayload
	)
	for _, f := range []struct {
		name string
		dst  any
	}{
		{"PlatformProducts", &products},
		{"Reservations", &reservations},
		{"Transitions", &transitions},
		{"Reductions", &reductions},
	} {
		if s := getLong(props, f.name); s != "" {
			if err := decodePayload(s, what+" property "+f.name, f.dst); err != nil {
				return e, err
			}
		}
	}
	e.PlatformProducts = mapSlice(products, platformProductPayload.product)
	if e.Reservations, err = serviceChangesOf(reservations); err != nil {
		return e, errors.New(what + " property Reservations: " + err.Error())
	}
	if e.Transitions, err = serviceChangesOf(transitions); err != nil {
		return e, errors.New(what + " property Transitions: " + err.Error())
	}
	if e.Reductions, err = reductionsOf(reductions); err != nil {
		return e, errors.New(what + " property Reductions: " + err.Error())
	}
	return e, nil
}

// platformProductPayload is one element of the PlatformProducts property.
type platformProductPayload struct {
	Name      string   `json:"name"`
	CoveredBy []string `json:"coveredBy,omitempty"`
	Bridge    string   `json:"bridge,omitempty"`
}

// serviceChangePayload is one element of the Reservations and Transitions
// properties.
type serviceChangePayload struct {
	Service  string  `json:"service"`
	Quantity int     `json:"quantity"`
	Date     dayJSON `json:"date"`
}

// reductionPayload is one element of the Reductions property.
type reductionPayload struct {
	Product  string  `json:"product"`
	Quantity int     `json:"quantity"`
	Date     dayJSON `json:"date"`
}

func platformProductPayloadOf(p licensing.PlatformProduct) platformProductPayload {
	return platformProductPayload{Name: p.Name, CoveredBy: p.CoveredBy, Bridge: p.Bridge}
}

func (p platformProductPayload) product() licensing.PlatformProduct {
	return licensing.PlatformProduct{Name: p.Name, CoveredBy: p.CoveredBy, Bridge: p.Bridge}
}

func serviceChangePayloadOf(c licensing.ServiceChange) serviceChangePayload {
	return serviceChangePayload{Service: c.Service, Quantity: c.Quantity, Date: dayOf(c.Date)}
}

func reductionPayloadOf(r licensing.Reduction) reductionPayload {
	return reductionPayload{Product: r.Product, Quantity: r.Quantity, Date: dayOf(r.Date)}
}

// serviceChangesOf converts stored service changes; a day that does not
// parse is an error.
func serviceChangesOf(ps []serviceChangePayload) ([]licensing.ServiceChange, error) {
	return convertDated(ps, func(p serviceChangePayload) (licensing.ServiceChange, error) {
		d, err := p.Date.date()
		return licensing.ServiceChange{Service: p.Service, Quantity: p.Quantity, Date: d}, err
	})
}

// reductionsOf converts stored reductions; a day that does not parse is an
// error.
func reductionsOf(ps []reductionPayload) ([]licensing.Reduction, error) {
	return convertDated(ps, func(p reductionPayload) (licensing.Reduction, error) {
		d, err := p.Date.date()
		return licensing.Reduction{Product: p.Product, Quantity: p.Quantity, Date: d}, err
	})
}

// convertDated is mapSlice for a conversion that can fail: the first
// failure stops it.
func convertDated[T, U any](in []T, f func(T) (U, error)) ([]U, error) {
	var err error
	out := mapSlice(in, func(v T) U {
		u, e := f(v)
		if err == nil {
			err = e
		}
		return u
	})
	return out, err
}

// maxEntityBytes is the most data Table Storage holds in one entity.
const maxEntityBytes = 1 << 20

// entityBytes is the size of props as Table Storage counts it against
// maxEntityBytes: 4 bytes, the keys in UTF-16, and for each other property
// 8 bytes, its name in UTF-16 and its value (a string 4 bytes and its
// UTF-16; an Edm.DateTime 8 bytes; a number 4, as an Int32).
func entityBytes(props map[string]any) int {
	utf16Bytes := func(s string) int {
		n := 0
		for _, r := range s {
			n += 2 * max(utf16.RuneLen(r), 1)
		}
		return n
	}
	n := 4 + utf16Bytes(getString(props, "PartitionKey")) + utf16Bytes(getString(props, "RowKey"))
	for name, v := range props {
		if name == "PartitionKey" || name == "RowKey" || strings.HasSuffix(name, "@odata.type") {
			continue
		}
		n += 8 + utf16Bytes(name)
		switch v := v.(type) {
		case string:
			if props[name+"@odata.type"] == "Edm.DateTime" {
				n += 8
			} else {
				n += 4 + utf16Bytes(v)
			}
		default:
			n += 4
		}
	}
	return n
}
