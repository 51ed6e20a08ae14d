package licensing

import (
	"context"
	"time"
)

// SnapshotPruner removes what retention lets go of published snapshots.
type SnapshotPruner interface {
	// MarkSnapshotPruned records on snapshot id's summary that its files
	// were deleted at at; the summary and its usage counts stay. A snapshot
	// marked already keeps its first time. NotFound when id is unknown.
	MarkSnapshotPruned(ctx context.Context, id string, at time.Time) error
	// DeleteSnapshot removes snapshot id's usage counts, then its summary,
	// so a deletion cut short leaves a summary the next one finds. An
	// unknown id is no error. The latest pointer is left as it is.
	DeleteSnapshot(ctx context.Context, id string) error
}

// DeliveryPruner removes the delivery records of old report runs.
type DeliveryPruner interface {
	// ListDeliveryRuns returns the runs that have at least one delivery
	// recorded, in name order.
	ListDeliveryRuns(ctx context.Context) ([]string, error)
	// DeleteDelivery removes the delivery of key in run; one that is not
	// there is no error.
	DeleteDelivery(ctx context.Context, run, key string) error
}
