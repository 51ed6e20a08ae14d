package tablestore

import (
	"context"
	"encoding/json"

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
	body, err := json.Marshal(d)
	if err != nil {
		return internal(op, err)
	}
	props := map[string]any{"PartitionKey": d.Run, "RowKey": d.Key, "State": d.State}
	setLong(props, "Delivery", string(body))
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
	var d licensing.Delivery
	if err := json.Unmarshal([]byte(getLong(props, "Delivery")), &d); err != nil {
		return licensing.Delivery{}, internal(op, err)
	}
	return d, nil
}
