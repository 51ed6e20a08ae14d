package fakes

import (
	"context"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Document contents that pass the intake's content checks.
var (
	PDF = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	EML = []byte("From: Microsoft Volume Licensing <msvl@microsoft.example>\r\nTo: osm@doa.example.gov\r\nSubject: Activate your Microsoft Online Services\r\nDate: Mon, 2 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\n\r\nClick Sign Up or Sign In.\r\n")
	PNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
)

// People of the sample agencies.
const (
	// Admin is a central IT administrator.
	Admin = "admin@it.example.gov"
	// CentralIT is central IT's mailbox.
	CentralIT = "licensing@it.example.gov"
	// Delegate is DOA's delegate.
	Delegate = "pat.doe@doa.example.gov"
)

// Agencies returns the sample agencies of the sample tenant: DOA
// (Administration) attributes by department and has Delegate; DET
// (Technology) attributes by the domain det.example.gov.
func Agencies() []licensing.Agency {
	return []licensing.Agency{
		{ID: "DOA", Name: "Administration", Contacts: []string{"licensing@doa.example.gov"}, Delegates: []string{Delegate},
			Attribution: licensing.AttributionRule{Attribute: licensing.AttrDepartment, Values: []string{"Administration"}}},
		{ID: "DET", Name: "Technology", Contacts: []string{"x@det.example.gov"},
			Attribution: licensing.AttributionRule{Attribute: licensing.AttrUPNDomain, Values: []string{"det.example.gov"}}},
	}
}

// PutAgencies puts each agency through admin as Admin, as central IT does,
// and stops at the first error.
func PutAgencies(ctx context.Context, admin *licensing.AgencyAdmin, agencies ...licensing.Agency) error {
	caller := &licensing.Principal{Name: Admin}
	for _, a := range agencies {
		if _, _, err := admin.PutAgency(ctx, caller, a.ID, a, licensing.Precondition{}); err != nil {
			return err
		}
	}
	return nil
}
