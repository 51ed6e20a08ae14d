package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/devkit/fakes"
	"github.com/shared-tenant/licensetrack/shared/devkit/memstore"
	"github.com/shared-tenant/licensetrack/shared/intake"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// unreadableTenant is a directory whose subscribedSkus does not answer.
type unreadableTenant struct{ *fakes.Directory }

func (unreadableTenant) SubscribedSkus(context.Context) ([]licensing.TenantSku, error) {
	return nil, licensing.Errorf("graph.skus", licensing.Unavailable, "Microsoft Graph did not answer.")
}

// TestFormChoices lists the tenant's products first and the rest of the
// catalog apart, each by name; without the tenant, the catalog's products
// are still offered and the choices say why the tenant's are not.
func TestFormChoices(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	auth := licensing.NewAuthorizer(store, []string{fakes.Admin}, false)
	choices := func(dir licensing.Directory) intake.FormChoices {
		t.Helper()
		svc := intake.NewService(intake.Config{Auth: auth, Agencies: store, Directory: dir, Catalog: fakes.BuiltinCatalog{}})
		c, err := svc.FormChoices(ctx, &licensing.Principal{Name: fakes.Admin})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := choices(fakes.NewDirectory())
	var tenant []string
	for _, p := range c.Tenant {
		tenant = append(tenant, p.Name)
	}
	if strings.Join(tenant, ", ") != "Office 365 E3, Visio Plan 2" || c.TenantUnread != "" || c.Terms != licensing.DefaultTerms() {
		t.Errorf("tenant products %v, unread %q, terms %+v", tenant, c.TenantUnread, c.Terms)
	}
	for i, p := range c.Other {
		if p.PartNumber == "VISIOCLIENT" || p.PartNumber == "ENTERPRISEPACK" {
			t.Errorf("%s is offered twice", p.PartNumber)
		}
		if i > 0 && strings.ToLower(c.Other[i-1].Name) > strings.ToLower(p.Name) {
			t.Errorf("%q before %q", c.Other[i-1].Name, p.Name)
		}
	}
	if len(c.Other) < 40 {
		t.Errorf("%d other products, want the built-in table's", len(c.Other))
	}

	c = choices(unreadableTenant{fakes.NewDirectory()})
	if len(c.Tenant) != 0 || c.TenantUnread != "Microsoft Graph did not answer." || len(c.Other) < 42 {
		t.Errorf("without the tenant: %d tenant products, %d others, unread %q", len(c.Tenant), len(c.Other), c.TenantUnread)
	}
	if _, err := intake.NewService(intake.Config{Auth: auth, Agencies: store}).FormChoices(ctx, nil); licensing.ErrorCode(err) != licensing.Unauthenticated {
		t.Errorf("nobody: %v", err)
	}
}

// TestAcceptedFiles narrows the pickers to what each document may be.
func TestAcceptedFiles(t *testing.T) {
	po, email := intake.AcceptedFiles(licensing.DocPurchaseOrder), intake.AcceptedFiles(licensing.DocActivationEmail)
	if po != ".pdf,application/pdf,.png,image/png,.jpg,.jpeg,image/jpeg,.tif,.tiff,image/tiff" {
		t.Errorf("purchase order: %s", po)
	}
	if !strings.Contains(email, ".eml,message/rfc822,.msg,application/vnd.ms-outlook") || !strings.Contains(email, ".pdf") {
		t.Errorf("activation email: %s", email)
	}
}
