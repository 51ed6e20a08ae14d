package tablestore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// PutDelivery records d, replacing what was recorded for its run and key.
func (s *Store) PutDelivery(ctx context.Context, d licensing.Delivery) error {
	const op = "tablestore.putDelivery"
	if err := checkKey(op, "The run", d.Run); err != nil {
		return err
	}
	if err := checkKey(op, "The report key", d.Key); err != nil {
		return err
	}
	body, err := encodePayload(deliveryPayloadOf(d))
	if err != nil {
		return internal(op, err)
	}
	props := map[string]any{"PartitionKey": d.Run, "RowKey": d.Key, "State": d.State}
	setLong(props, "Delivery", body)
	setSchema(props)
	b, err := json.Marshal(props)
	if err != nil {
		return internal(op, err)
	}
	_, err = s.delivery.UpsertEntity(ctx, b, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
	return azerr.Translate(op, "delivery "+d.Key, err)
}

// GetDelivery returns the delivery of key in run, or NotFound.
func (s *Store) GetDelivery(ctx context.Context, run, key string) (licensing.Delivery, error) {
	const op = "tablestore.getDelivery"
	if checkKey(op, "", run) != nil || checkKey(op, "", key) != nil {
		return licensing.Delivery{}, licensing.Errorf(op, licensing.NotFound, "No delivery of %s in %s.", key, run)
	}
	resp, err := s.delivery.GetEntity(ctx, run, key, nil)
	if err != nil {
		return licensing.Delivery{}, azerr.Translate(op, "delivery "+key, err)
	}
	return deliveryFrom(op, resp.Value)
}

// ListDeliveries returns a run's deliveries.
func (s *Store) ListDeliveries(ctx context.Context, run string) ([]licensing.Delivery, error) {
	const op = "tablestore.listDeliveries"
	if err := checkKey(op, "The run", run); err != nil {
		return nil, err
	}
	filter := "PartitionKey eq " + quote(run)
	var out []licensing.Delivery
	err := eachEntity(ctx, s.delivery, filter, op, "the deliveries", func(e []byte) error {
		d, err := deliveryFrom(op, e)
		if err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

func deliveryFrom(op string, raw []byte) (licensing.Delivery, error) {
	props, err := decodeEntity(raw)
	if err != nil {
		return licensing.Delivery{}, internal(op, err)
	}
	what := "delivery row " + getString(props, "PartitionKey") + "/" + getString(props, "RowKey")
	if err := checkSchema(props, what); err != nil {
		return licensing.Delivery{}, internal(op, err)
	}
	var p deliveryPayload
	if err := decodePayload(getLong(props, "Delivery"), what, &p); err != nil {
		return licensing.Delivery{}, internal(op, err)
	}
	return p.delivery(), nil
}

// deliveryPayload is the JSON of a delivery in the Delivery property of its
// row.
type deliveryPayload struct {
	Run    string    `json:"run"`
	Key    string    `json:"key"`
	State  string    `json:"state"`
	File   string    `json:"file"`
	Size   int64     `json:"size,omitempty"`
	To     []string  `json:"to,omitempty"`
	At     time.Time `json:"at"`
	Detail string    `json:"detail,omitempty"`
}

func deliveryPayloadOf(d licensing.Delivery) deliveryPayload {
	return deliveryPayload{Run: d.Run, Key: d.Key, State: d.State, File: d.File, Size: d.Size, To: d.To, At: d.At, Detail: d.Detail}
}

func (p deliveryPayload) delivery() licensing.Delivery {
	return licensing.Delivery{Run: p.Run, Key: p.Key, State: p.State, File: p.File, Size: p.Size, To: p.To, At: p.At, Detail: p.Detail}
}
