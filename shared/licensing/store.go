package licensing

import (
	"context"
	"time"
)

// Precondition makes a write conditional on the stored version.
type Precondition struct {
	// IfMatch, when set, requires the stored entity to have this ETag ("*"
	// matches any existing entity).
	IfMatch string
	// IfNoneMatch requires that no entity exists yet (create only).
	IfNoneMatch bool
}

// AgencyStore keeps agency configuration.
type AgencyStore interface {
	// GetAgency returns the agency with id, or a NotFound error.
	GetAgency(ctx context.Context, id string) (Agency, error)
	// ListAgencies returns every agency ordered by id.
	ListAgencies(ctx context.Context) ([]Agency, error)
	// PutAgency creates or replaces a. It returns the stored agency with its
	// new ETag and whether it was created. A failed precondition is Stale;
	// a create-only write that finds an entity is Stale as well.
	PutAgency(ctx context.Context, a Agency, pre Precondition) (stored Agency, created bool, err error)
}

// RunStore keeps the records of job runs.
type RunStore interface {
	// PutRun creates or replaces the record with r.ID.
	PutRun(ctx context.Context, r Run) error
	// ListRuns returns the newest runs first, filtered by f.
	ListRuns(ctx context.Context, f RunFilter) ([]Run, error)
}

// RunFilter narrows ListRuns.
type RunFilter struct {
	// Function keeps only runs of that function or job when set.
	Function string
	// Limit caps the number of runs returned (default and maximum in the
	// service).
	Limit int
	// Since keeps only runs that started at or after it when not zero.
	Since time.Time
}
