package handlers

import (
	"context"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func (s *Server) pageIntakeForm(ctx context.Context, p *pageRequest) (*Response, error) {
	return nil, licensing.Errorf("pages", licensing.NotFound, "This page is not built yet.")
}

func (s *Server) pageIntakeSubmit(ctx context.Context, p *pageRequest) (*Response, error) {
	return nil, licensing.Errorf("pages", licensing.NotFound, "This page is not built yet.")
}

func (s *Server) pageRequest(ctx context.Context, p *pageRequest) (*Response, error) {
	return nil, licensing.Errorf("pages", licensing.NotFound, "This page is not built yet.")
}

func (s *Server) pageRequestDocuments(ctx context.Context, p *pageRequest) (*Response, error) {
	return nil, licensing.Errorf("pages", licensing.NotFound, "This page is not built yet.")
}

func (s *Server) pageRequestActivation(ctx context.Context, p *pageRequest) (*Response, error) {
	return nil, licensing.Errorf("pages", licensing.NotFound, "This page is not built yet.")
}
