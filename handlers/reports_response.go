package handlers

import (
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// licenseReportResponse is the ad-hoc license report (format=json). Its
// keys are camelCase, with the SKU keys the other answers use (skuId,
// skuPartNumber, product).
type licenseReportResponse struct {
	Date     licensing.Date          `json:"date"`
	DataAsOf time.Time               `json:"dataAsOf"`
	Snapshot string                  `json:"snapshot"`
	Agencies []agencyNumbersResponse `json:"agencies"`
	Tenant   []tenantCheckResponse   `json:"tenantCheck,omitempty"`
	Notes    []string                `json:"notes,omitempty"`
}

// agencyNumbersResponse is one agency, or in an admin's tenant-wide report
// one bucket of users no agency answers for: bucket is "unattributed" or
// "conflict" then, and note says what to do.
type agencyNumbersResponse struct {
	Agency   string                `json:"agency"`
	Name     string                `json:"name"`
	Users    int                   `json:"licensedUsers"`
	Products []productLineResponse `json:"products"`
	Bucket   string                `json:"bucket,omitempty"`
	Note     string                `json:"note,omitempty"`
}

type productLineResponse struct {
	SkuID      string `json:"skuId"`
	PartNumber string `json:"skuPartNumber"`
	Product    string `json:"product"`
	Purchased  int    `json:"purchased"`
	InUse      int    `json:"inUse"`
	Available  int    `json:"available"`
	Status     string `json:"status"`
	Disabled   int    `json:"disabled"`
	Inactive   int    `json:"inactive"`
}

type tenantCheckResponse struct {
	SkuID      string `json:"skuId"`
	PartNumber string `json:"skuPartNumber"`
	Product    string `json:"product"`
	Purchased  int    `json:"purchased"`
	Prepaid    int    `json:"prepaid"`
	Consumed   int    `json:"consumed"`
	Difference int    `json:"difference"`
	Note       string `json:"note,omitempty"`
}

func newLicenseReportResponse(rep usage.LicenseReport) licenseReportResponse {
	return licenseReportResponse{
		Date: rep.Date, DataAsOf: rep.DataAsOf, Snapshot: rep.SnapshotID, Notes: rep.Notes,
		Agencies: mapList(rep.Agencies, func(a usage.AgencyNumbers) agencyNumbersResponse {
			return agencyNumbersResponse{Agency: a.Agency, Name: a.Name, Users: a.Users, Bucket: a.Bucket, Note: a.Note,
				Products: mapList(a.Products, func(p licensing.ProductLine) productLineResponse {
					return productLineResponse{SkuID: p.SkuID, PartNumber: p.PartNumber, Product: p.Name, Purchased: p.Purchased,
						InUse: p.InUse, Available: p.Available, Status: p.Status, Disabled: p.Disabled, Inactive: p.Inactive}
				})}
		}),
		Tenant: mapList(rep.Tenant, func(t licensing.TenantCheckRow) tenantCheckResponse {
			return tenantCheckResponse{SkuID: t.SkuID, PartNumber: t.PartNumber, Product: t.Name, Purchased: t.Purchased,
				Prepaid: t.Prepaid, Consumed: t.Consumed, Difference: t.Difference, Note: t.Note}
		}),
	}
}
