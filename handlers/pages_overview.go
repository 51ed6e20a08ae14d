package handlers

import (
	"context"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func (s *Server) pageAdminOverview(ctx context.Context, p *pageRequest) (*Response, error) {
	return nil, licensing.Errorf("pages", licensing.NotFound, "This page is not built yet.")
}

func (s *Server) pageAgencyOverview(ctx context.Context, p *pageRequest) (*Response, error) {
	return nil, licensing.Errorf("pages", licensing.NotFound, "This page is not built yet.")
}
