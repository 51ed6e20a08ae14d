package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// userPage is a page of /users or /users/delta as Graph sends it.
type userPage struct {
	NextLink  string     `json:"@odata.nextLink"`
	DeltaLink string     `json:"@odata.deltaLink"`
	Value     []wireUser `json:"value"`
}

// wireUser is a user as Graph sends it, with the properties of
// licensing.UserFields and signInActivity. A null property decodes as its
// zero value.
type wireUser struct {
	ID                            string              `json:"id"`
	UserPrincipalName             string              `json:"userPrincipalName"`
	DisplayName                   string              `json:"displayName"`
	Mail                          string              `json:"mail"`
	Department                    string              `json:"department"`
	CompanyName                   string              `json:"companyName"`
	OfficeLocation                string              `json:"officeLocation"`
	UsageLocation                 string              `json:"usageLocation"`
	AccountEnabled                bool                `json:"accountEnabled"`
	CreatedDateTime               *time.Time          `json:"createdDateTime"`
	OnPremisesExtensionAttributes *wireExtensions     `json:"onPremisesExtensionAttributes"`
	AssignedLicenses              []wireLicense       `json:"assignedLicenses"`
	LicenseAssignmentStates       []wireLicenseState  `json:"licenseAssignmentStates"`
	SignInActivity                *wireSignInActivity `json:"signInActivity"`
	// Removed is the @removed annotation of a delta entry.
	Removed json.RawMessage `json:"@removed"`
}

type wireExtensions struct {
	A1  string `json:"extensionAttribute1"`
	A2  string `json:"extensionAttribute2"`
	A3  string `json:"extensionAttribute3"`
	A4  string `json:"extensionAttribute4"`
	A5  string `json:"extensionAttribute5"`
	A6  string `json:"extensionAttribute6"`
	A7  string `json:"extensionAttribute7"`
	A8  string `json:"extensionAttribute8"`
	A9  string `json:"extensionAttribute9"`
	A10 string `json:"extensionAttribute10"`
	A11 string `json:"extensionAttribute11"`
	A12 string `json:"extensionAttribute12"`
	A13 string `json:"extensionAttribute13"`
	A14 string `json:"extensionAttribute14"`
	A15 string `json:"extensionAttribute15"`
}

type wireLicense struct {
	SkuID string `json:"skuId"`
}

type wireLicenseState struct {
	SkuID           string `json:"skuId"`
	AssignedByGroup string `json:"assignedByGroup"`
	Error           string `json:"error"`
}

type wireSignInActivity struct {
	LastSignInDateTime               *time.Time `json:"lastSignInDateTime"`
	LastNonInteractiveSignInDateTime *time.Time `json:"lastNonInteractiveSignInDateTime"`
	LastSuccessfulSignInDateTime     *time.Time `json:"lastSuccessfulSignInDateTime"`
}

// errorMapping maps every failed status to Graph's ODataError, as the
// SDK's request builders do, so that translate reads status and code.
var errorMapping = abstractions.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// get sends the request build makes through the SDK's adapter (its
// middleware: authentication, retry and throttling handlers), with this
// package's retries, and decodes the JSON body into page.
func (r *userRead) get(ctx context.Context, what string, build func(context.Context) (*abstractions.RequestInformation, error), page *userPage) error {
	return r.c.call(ctx, what, func(ctx context.Context) error {
		ri, err := build(ctx)
		if err != nil {
			return err
		}
		body, err := r.c.svc.GetAdapter().SendPrimitive(ctx, ri, "[]byte", errorMapping)
		if err != nil {
			return err
		}
		b, ok := body.([]byte)
		if !ok || len(b) == 0 {
			return errNoPage
		}
		*page = userPage{}
		if err := json.Unmarshal(b, page); err != nil {
			return fmt.Errorf("graph: %s: %w", what, err)
		}
		return nil
	})
}

// removed reports whether a delta entry is a removal (@removed annotation).
func (u *wireUser) removed() bool {
	return len(u.Removed) > 0 && string(u.Removed) != "null"
}

// directoryUser converts u. signIn says whether signInActivity was
// selected.
func (u *wireUser) directoryUser(signIn bool) licensing.DirectoryUser {
	du := licensing.DirectoryUser{
		ID:                strings.ToLower(u.ID),
		UserPrincipalName: u.UserPrincipalName,
		DisplayName:       u.DisplayName,
		Mail:              u.Mail,
		Department:        u.Department,
		CompanyName:       u.CompanyName,
		OfficeLocation:    u.OfficeLocation,
		UsageLocation:     u.UsageLocation,
		AccountEnabled:    u.AccountEnabled,
		Licenses:          foldLicenses(u.LicenseAssignmentStates, u.AssignedLicenses),
	}
	if u.CreatedDateTime != nil {
		du.CreatedDateTime = u.CreatedDateTime.UTC()
	}
	if e := u.OnPremisesExtensionAttributes; e != nil {
		du.ExtensionAttributes = [15]string{e.A1, e.A2, e.A3, e.A4, e.A5, e.A6, e.A7, e.A8, e.A9, e.A10, e.A11, e.A12, e.A13, e.A14, e.A15}
	}
	if signIn {
		du.LastSignIn = u.lastSignIn()
	}
	return du
}

// lastSignIn is the latest of the interactive, non-interactive and
// successful sign-ins: a user whose apps refresh tokens silently is using
// the license.
func (u *wireUser) lastSignIn() *time.Time {
	a := u.SignInActivity
	if a == nil {
		return nil
	}
	var last *time.Time
	for _, t := range []*time.Time{a.LastSignInDateTime, a.LastNonInteractiveSignInDateTime, a.LastSuccessfulSignInDateTime} {
		if t != nil && (last == nil || t.After(*last)) {
			v := t.UTC()
			last = &v
		}
	}
	return last
}

// licenses folds the SDK's licenseAssignmentStates and assignedLicenses
// (see foldLicenses).
func licenses(states []models.LicenseAssignmentStateable, assigned []models.AssignedLicenseable) []licensing.UserLicense {
	ws := make([]wireLicenseState, 0, len(states))
	for _, s := range states {
		if s.GetSkuId() != nil {
			ws = append(ws, wireLicenseState{SkuID: s.GetSkuId().String(), AssignedByGroup: str(s.GetAssignedByGroup()), Error: str(s.GetError())})
		}
	}
	wa := make([]wireLicense, 0, len(assigned))
	for _, a := range assigned {
		if a.GetSkuId() != nil {
			wa = append(wa, wireLicense{SkuID: a.GetSkuId().String()})
		}
	}
	return foldLicenses(ws, wa)
}

// foldLicenses folds licenseAssignmentStates (one per SKU and source) into
// one UserLicense per SKU, in the order Graph lists them. A SKU in
// assignedLicenses that no state mentions is taken as direct.
func foldLicenses(states []wireLicenseState, assigned []wireLicense) []licensing.UserLicense {
	var out []licensing.UserLicense
	index := map[string]int{}
	get := func(sku string) *licensing.UserLicense {
		if i, ok := index[sku]; ok {
			return &out[i]
		}
		index[sku] = len(out)
		out = append(out, licensing.UserLicense{SkuID: sku})
		return &out[len(out)-1]
	}
	for _, s := range states {
		if s.SkuID == "" {
			continue
		}
		l := get(strings.ToLower(s.SkuID))
		if g := s.AssignedByGroup; g != "" {
			l.Groups = append(l.Groups, strings.ToLower(g))
		} else {
			l.Direct = true
		}
		if e := s.Error; e != "" && !strings.EqualFold(e, "None") && l.Error == "" {
			l.Error = e
		}
	}
	for _, a := range assigned {
		if a.SkuID == "" {
			continue
		}
		sku := strings.ToLower(a.SkuID)
		if _, ok := index[sku]; !ok {
			get(sku).Direct = true
		}
	}
	return out
}
