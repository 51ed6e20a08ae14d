package tablestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/shared-tenant/licensetrack/shared/azerr"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

const effectsTable = "Effects"

var _ licensing.EffectStore = (*Store)(nil)

// effectKeys returns the PartitionKey and RowKey of an effect: its kind (the
// key up to the first ':') and the hex SHA-256 of the whole key, so that any
// key fits the service's key rules.
func effectKeys(key string) (string, string) {
	kind, _, _ := strings.Cut(key, ":")
	kind = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`/\#?`, r) {
			return '_'
		}
		return r
	}, kind)
	if kind == "" {
		kind = "_"
	}
	sum := sha256.Sum256([]byte(key))
	return kind, hex.EncodeToString(sum[:])
}

func effectEntity(e licensing.Effect) ([]byte, error) {
	pk, rk := effectKeys(e.Key)
	props := map[string]any{"PartitionKey": pk, "RowKey": rk, "Key": e.Key, "State": e.State}
	setTime(props, "Claimed", e.Claimed)
	setTime(props, "Until", e.Until)
	setTime(props, "Done", e.Done)
	if e.Detail != "" {
		setLong(props, "Detail", e.Detail)
	}
	return json.Marshal(props)
}

func effectFrom(op string, raw []byte) (licensing.Effect, error) {
	props, err := decodeEntity(raw)
	if err != nil {
		return licensing.Effect{}, internal(op, err)
	}
	e := licensing.Effect{Key: getString(props, "Key"), State: getString(props, "State"), Detail: getLong(props, "Detail"), ETag: etagOf(props)}
	var terr [3]error
	e.Claimed, terr[0] = getTime(props, "Claimed")
	e.Until, terr[1] = getTime(props, "Until")
	e.Done, terr[2] = getTime(props, "Done")
	if err := errors.Join(terr[:]...); err != nil {
		return licensing.Effect{}, internal(op, err)
	}
	return e, nil
}

// ClaimEffect inserts e; when a record of its key exists it returns that
// record with a Conflict error.
func (s *Store) ClaimEffect(ctx context.Context, e licensing.Effect) (licensing.Effect, error) {
	const op = "tablestore.claimEffect"
	b, err := effectEntity(e)
	if err != nil {
		return licensing.Effect{}, internal(op, err)
	}
	resp, err := s.effects.AddEntity(ctx, b, nil)
	if err == nil {
		e.ETag = string(resp.ETag)
		return e, nil
	}
	err = azerr.Translate(op, "effect "+e.Key, err)
	if licensing.ErrorCode(err) != licensing.Conflict {
		return licensing.Effect{}, err
	}
	existing, gerr := s.GetEffect(ctx, e.Key)
	if gerr != nil {
		return licensing.Effect{}, gerr
	}
	return existing, err
}

// UpdateEffect replaces the record of e.Key when its ETag is still e.ETag.
func (s *Store) UpdateEffect(ctx context.Context, e licensing.Effect) (licensing.Effect, error) {
	const op = "tablestore.updateEffect"
	b, err := effectEntity(e)
	if err != nil {
		return licensing.Effect{}, internal(op, err)
	}
	etag := azcore.ETag(e.ETag)
	resp, err := s.effects.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeReplace, IfMatch: &etag})
	if err != nil {
		return licensing.Effect{}, azerr.Translate(op, "effect "+e.Key, err)
	}
	e.ETag = string(resp.ETag)
	return e, nil
}

// GetEffect returns the record of key, or NotFound.
func (s *Store) GetEffect(ctx context.Context, key string) (licensing.Effect, error) {
	const op = "tablestore.getEffect"
	pk, rk := effectKeys(key)
	resp, err := s.effects.GetEntity(ctx, pk, rk, nil)
	if err != nil {
		return licensing.Effect{}, azerr.Translate(op, "effect "+key, err)
	}
	e, err := effectFrom(op, resp.Value)
	e.ETag = string(resp.ETag)
	return e, err
}

// ListEffects returns the records in state whose key starts with prefix;
// the prefix must name the kind (the key up to its first ':').
func (s *Store) ListEffects(ctx context.Context, prefix, state string) ([]licensing.Effect, error) {
	const op = "tablestore.listEffects"
	pk, _ := effectKeys(prefix)
	filter := "PartitionKey eq " + quote(pk) + " and State eq " + quote(state)
	var out []licensing.Effect
	err := eachEntity(ctx, s.effects, filter, op, "the effects", func(raw []byte) error {
		e, err := effectFrom(op, raw)
		if err != nil {
			return err
		}
		if strings.HasPrefix(e.Key, prefix) {
			out = append(out, e)
		}
		return nil
	})
	return out, err
}
