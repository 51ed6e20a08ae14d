package graph

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// SubscribedSkus implements licensing.Directory: GET /subscribedSkus.
func (c *Client) SubscribedSkus(ctx context.Context) ([]licensing.TenantSku, error) {
	const op = "graph.subscribedSkus"
	var out []licensing.TenantSku
	next := ""
	for {
		var page models.SubscribedSkuCollectionResponseable
		err := c.call(ctx, "subscribedSkus", func(ctx context.Context) error {
			var err error
			if next == "" {
				page, err = c.svc.SubscribedSkus().Get(ctx, nil)
			} else {
				page, err = c.svc.SubscribedSkus().WithUrl(next).Get(ctx, nil)
			}
			return err
		})
		if err == nil && page == nil {
			err = errNoPage
		}
		if err != nil {
			return nil, translate(op, permOrg, "The tenant's subscribed SKUs", err)
		}
		for _, s := range page.GetValue() {
			k := licensing.TenantSku{
				PartNumber:       str(s.GetSkuPartNumber()),
				CapabilityStatus: str(s.GetCapabilityStatus()),
				Consumed:         int32Value(s.GetConsumedUnits()),
			}
			if id := s.GetSkuId(); id != nil {
				k.SkuID = strings.ToLower(id.String())
			}
			if p := s.GetPrepaidUnits(); p != nil {
				k.Enabled = int32Value(p.GetEnabled())
				k.Warning = int32Value(p.GetWarning())
				k.Suspended = int32Value(p.GetSuspended())
				k.LockedOut = int32Value(p.GetLockedOut())
			}
			out = append(out, k)
		}
		if next, err = c.nextLink(page.GetOdataNextLink()); err != nil || next == "" {
			return out, translate(op, permOrg, "", err)
		}
	}
}

// Subscriptions implements licensing.Directory: GET /directory/subscriptions.
func (c *Client) Subscriptions(ctx context.Context) ([]licensing.TenantSubscription, error) {
	const op = "graph.subscriptions"
	var out []licensing.TenantSubscription
	next := ""
	for {
		var page models.CompanySubscriptionCollectionResponseable
		err := c.call(ctx, "directory/subscriptions", func(ctx context.Context) error {
			var err error
			if next == "" {
				page, err = c.svc.Directory().Subscriptions().Get(ctx, nil)
			} else {
				page, err = c.svc.Directory().Subscriptions().WithUrl(next).Get(ctx, nil)
			}
			return err
		})
		if err == nil && page == nil {
			err = errNoPage
		}
		if err != nil {
			return nil, translate(op, permOrg, "The tenant's subscriptions", err)
		}
		for _, s := range page.GetValue() {
			sub := licensing.TenantSubscription{
				ID:            str(s.GetId()),
				SkuID:         strings.ToLower(str(s.GetSkuId())),
				PartNumber:    str(s.GetSkuPartNumber()),
				Status:        str(s.GetStatus()),
				TotalLicenses: int32Value(s.GetTotalLicenses()),
				IsTrial:       s.GetIsTrial() != nil && *s.GetIsTrial(),
			}
			if t := s.GetCreatedDateTime(); t != nil {
				sub.Created = t.UTC()
			}
			if t := s.GetNextLifecycleDateTime(); t != nil {
				v := t.UTC()
				sub.NextLifecycle = &v
			}
			out = append(out, sub)
		}
		if next, err = c.nextLink(page.GetOdataNextLink()); err != nil || next == "" {
			return out, translate(op, permOrg, "", err)
		}
	}
}

// memberFields are the user properties read for group members.
var memberFields = []string{"id", "userPrincipalName", "displayName", "mail", "usageLocation", "accountEnabled", "assignedLicenses", "licenseAssignmentStates"}

// GroupUserMembers implements licensing.Directory: GET
// /groups/{id}/transitiveMembers/microsoft.graph.user, 999 a page. A group id
// that is not a GUID is Invalid; a group that does not exist is NotFound.
func (c *Client) GroupUserMembers(ctx context.Context, groupID string, fn func(licensing.GroupMember) error) error {
	const op = "graph.groupMembers"
	groupID = strings.ToLower(strings.TrimSpace(groupID))
	if !licensing.IsGUID(groupID) {
		return licensing.Errorf(op, licensing.Invalid, "%q is not a group object id (a GUID).", groupID)
	}
	var reqs atomic.Int64
	ctx = withCounter(ctx, &reqs)
	top := int32(pageSize)
	cfg := &groups.ItemTransitiveMembersGraphUserRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.ItemTransitiveMembersGraphUserRequestBuilderGetQueryParameters{Select: memberFields, Top: &top},
	}
	what := "The group " + groupID
	builder := c.svc.Groups().ByGroupId(groupID).TransitiveMembers().GraphUser()
	next, members, skipped := "", 0, 0
	for {
		var page models.UserCollectionResponseable
		err := c.call(ctx, "group members page", func(ctx context.Context) error {
			var err error
			if next == "" {
				page, err = builder.Get(ctx, cfg)
			} else {
				page, err = builder.WithUrl(next).Get(ctx, nil)
			}
			return err
		})
		if err == nil && page == nil {
			err = errNoPage
		}
		if err != nil {
			return translate(op, permMembers, what, err)
		}
		for _, u := range page.GetValue() {
			// The cast asks Graph for users only; anything else that slips
			// through (a device, a contact) is not a license holder.
			if t := str(u.GetOdataType()); t != "" && !strings.EqualFold(t, "#microsoft.graph.user") {
				skipped++
				continue
			}
			members++
			if err := fn(licensing.GroupMember{
				ID:                strings.ToLower(str(u.GetId())),
				UserPrincipalName: str(u.GetUserPrincipalName()),
				DisplayName:       str(u.GetDisplayName()),
				Mail:              str(u.GetMail()),
				UsageLocation:     str(u.GetUsageLocation()),
				AccountEnabled:    u.GetAccountEnabled() != nil && *u.GetAccountEnabled(),
				Licenses:          licenses(u.GetLicenseAssignmentStates(), u.GetAssignedLicenses()),
			}); err != nil {
				return err
			}
		}
		if next, err = c.nextLink(page.GetOdataNextLink()); err != nil {
			return translate(op, permMembers, what, err)
		}
		if next == "" {
			c.log.DebugContext(ctx, "graph: group members read", "group", groupID, "users", members,
				"skipped", skipped, "requests", reqs.Load())
			return nil
		}
	}
}

// nextLink returns the next page's link, "" at the end, or an error when the
// link leaves the configured Graph.
func (c *Client) nextLink(p *string) (string, error) {
	if p == nil || *p == "" {
		return "", nil
	}
	if err := c.checkLink(*p); err != nil {
		return "", err
	}
	return *p, nil
}

func int32Value(p *int32) int {
	if p == nil {
		return 0
	}
	return int(*p)
}
