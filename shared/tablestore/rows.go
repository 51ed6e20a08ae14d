package tablestore

// Stored shapes. Every row this package writes is defined in this package,
// not by the domain types of package licensing: properties are named in the
// adapters (explicit columns), and a property holding JSON is encoded from a
// payload type of this package (requestPayload, deliveryPayload,
// snapshotPayload, agencyPayload, purchasePayload and their parts), with its
// own JSON keys and explicit conversions to and from the domain type.
// Renaming or removing a field of a domain type therefore changes neither
// what is written nor how stored rows read; the conversions stop compiling
// instead. stored_test.go holds the stored format, row by row.
//
// A row holding such a payload carries its schema number in the property
// Schema. Rows written before that property existed have none and are
// schema 1, the shape the payload types describe.

import (
	"encoding/json"
	"fmt"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const (
	// schemaProperty names the property holding a row's schema number.
	schemaProperty = "Schema"
	// payloadSchema is the schema of the payloads written; rows without
	// a Schema property are schema 1 as well.
	payloadSchema = 1
)

// setSchema records the schema of the payload in props.
func setSchema(props map[string]any) {
	props[schemaProperty] = payloadSchema
}

// checkSchema refuses a row whose payload is of a schema this package does
// not read: one written by a later version.
func checkSchema(props map[string]any, what string) error {
	v, ok := props[schemaProperty]
	if !ok {
		return nil
	}
	n, ok := v.(float64)
	if !ok {
		return fmt.Errorf("%s: property %s is %v, not a number", what, schemaProperty, v)
	}
	if n < 1 || n > payloadSchema {
		return fmt.Errorf("%s: schema %v, this version reads schema 1 to %d", what, n, payloadSchema)
	}
	return nil
}

// encodePayload returns the JSON of a payload.
func encodePayload(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodePayload reads the JSON s into the payload dst.
func decodePayload(s, what string, dst any) error {
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// dayJSON is a calendar day in a payload: "2006-01-02", or null for no day
// (the empty dayJSON). Reading also takes "" for no day.
type dayJSON string

func (d dayJSON) MarshalJSON() ([]byte, error) {
	if d == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(d))
}

func (d *dayJSON) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a day must be a string like \"2026-08-01\" or null")
	}
	*d = dayJSON(s)
	return nil
}

func dayOf(d licensing.Date) dayJSON { return dayJSON(d.String()) }

// date returns the day d holds; the empty d is the zero Date.
func (d dayJSON) date() (licensing.Date, error) {
	if d == "" {
		return licensing.Date{}, nil
	}
	return licensing.ParseDate(string(d))
}

// mapSlice returns f applied to every element of in. A nil slice stays nil
// and an empty one empty, so that null and [] are written as they were.
func mapSlice[T, U any](in []T, f func(T) U) []U {
	if in == nil {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
