package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// The web front: server-rendered pages for people, served by the Pages
// function (route {*path}, so at the site's root, beside /api). Pages work
// without JavaScript, load nothing from another site, and are tested in a
// real browser.

//go:embed web
var webFiles embed.FS

// Headers of every page: nothing inline runs (the policy forbids inline
// script and style), nothing is framed or cached, and forms post only here.
var pageHeaders = map[string]string{
	"Content-Type":            "text/html; charset=utf-8",
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"Cache-Control":           "no-store",
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "same-origin",
}

// csrfCookie holds the form token of a browser: every form carries the same
// value in its csrf field, and a POST whose field does not match the cookie
// is refused (a double-submitted token). The cookie is SameSite=Strict, so
// another site's form never sends it.
const csrfCookie = "csrf"

// pageRoute is one page: a method, a path pattern whose {name} segments
// become parameters, and its handler.
type pageRoute struct {
	method  string
	pattern string
	handle  func(ctx context.Context, p *pageRequest) (*Response, error)
}

// pageRequest is a page request: the request, who asks and what they may do,
// the path's parameters and the browser's form token.
type pageRequest struct {
	*Request
	Path   string
	Params map[string]string
	Access licensing.Access
	// CSRF is the form token to put in every form of the page.
	CSRF string
	// setCookie is the Set-Cookie header when the token is new.
	setCookie string
}

func (s *Server) pageRoutes() []pageRoute {
	return []pageRoute{
		{http.MethodGet, "/", s.pageHome},
		{http.MethodGet, "/requests/new", s.pageIntakeForm},
		{http.MethodPost, "/requests/new", s.pageIntakeSubmit},
		{http.MethodGet, "/requests/{id}", s.pageRequest},
		{http.MethodPost, "/requests/{id}/documents", s.pageRequestDocuments},
		{http.MethodPost, "/requests/{id}/activation", s.pageRequestActivation},
		{http.MethodGet, "/agencies", s.pageAdminOverview},
		{http.MethodGet, "/agencies/{id}", s.pageAgencyOverview},
	}
}

// pages serves the Pages function: static files under /static/, else the
// page the path and method name.
func (s *Server) pages(ctx context.Context, r *Request) (*Response, error) {
	path := "/" + strings.Trim(r.Params["path"], "/")
	if strings.HasPrefix(path, "/static/") && r.Method == http.MethodGet {
		return staticFile(strings.TrimPrefix(path, "/static/"))
	}
	if strings.HasPrefix(path, "/api/") || path == "/api" {
		return nil, licensing.Errorf("pages", licensing.NotFound, "There is no %s in the API; see the README for its routes.", licensing.Truncate(path))
	}
	p := &pageRequest{Request: r, Path: path}
	var route *pageRoute
	allowed := false
	for _, rt := range s.pageRoutes() {
		params, ok := matchPattern(rt.pattern, path)
		if !ok {
			continue
		}
		allowed = true
		if rt.method == r.Method {
			route, p.Params = &rt, params
			break
		}
	}
	if route == nil {
		if allowed {
			return s.errorPage(p, http.StatusMethodNotAllowed, "This page cannot be reached this way", "Open it from a link instead of sending a form to it."), nil
		}
		return s.errorPage(p, http.StatusNotFound, "Page not found", "There is no page at this address. Start from the home page."), nil
	}
	if r.Caller == nil {
		return signIn(r, path), nil
	}
	acc, err := s.auth.Authorize(ctx, "pages", r.Caller)
	if err != nil {
		return s.pageError(p, err), nil
	}
	p.Access = acc
	p.CSRF, p.setCookie = csrfToken(r)
	if r.Method == http.MethodPost {
		if err := checkForm(r, p.CSRF, p.Request.formValue(csrfCookie)); err != nil {
			return s.errorPage(p, http.StatusForbidden, "The form could not be accepted", err.Error()), nil
		}
	}
	resp, err := route.handle(ctx, p)
	if err != nil {
		return s.pageError(p, err), nil
	}
	return p.finish(resp), nil
}

// matchPattern matches path against pattern, returning the {name} segments.
func matchPattern(pattern, path string) (map[string]string, bool) {
	ps, xs := strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	params := map[string]string{}
	for i, seg := range ps {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			v, err := url.PathUnescape(xs[i])
			if err != nil || v == "" {
				return nil, false
			}
			params[seg[1:len(seg)-1]] = v
			continue
		}
		if !strings.EqualFold(seg, xs[i]) {
			return nil, false
		}
	}
	return params, true
}

// signIn sends a browser without an identity to App Service
// authentication's sign-in, which brings it back to path.
func signIn(r *Request, path string) *Response {
	target := "/.auth/login/aad?post_login_redirect_uri=" + url.QueryEscape(path)
	return &Response{Status: http.StatusFound, Headers: map[string]string{"Location": target, "Cache-Control": "no-store"}}
}

// csrfToken returns the browser's form token from its cookie, or a new one
// with the Set-Cookie header that gives it.
func csrfToken(r *Request) (token, setCookie string) {
	if c := cookieValue(r.Header("Cookie"), csrfCookie); len(c) == 32 && isHex(c) {
		return c, ""
	}
	b := make([]byte, 16)
	rand.Read(b)
	token = hex.EncodeToString(b)
	secure := ""
	if strings.HasPrefix(strings.ToLower(r.URL), "https://") {
		secure = "; Secure"
	}
	return token, csrfCookie + "=" + token + "; Path=/; HttpOnly; SameSite=Strict" + secure
}

// checkForm accepts a POST whose form token matches the browser's cookie
// and whose Origin, when sent, is this site.
func checkForm(r *Request, cookie, field string) error {
	if origin := r.Header("Origin"); origin != "" && origin != "null" {
		o, err := url.Parse(origin)
		u, uerr := url.Parse(r.URL)
		if err != nil || uerr != nil || !strings.EqualFold(o.Host, u.Host) {
			return errors.New("The form was sent from another site. Open the page here and send it again.")
		}
	}
	if field == "" || subtle.ConstantTimeCompare([]byte(cookie), []byte(field)) != 1 {
		return errors.New("The form has expired or was opened in another browser. Reload the page and send it again.")
	}
	return nil
}

func cookieValue(header, name string) string {
	for _, part := range strings.Split(header, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == name {
			return v
		}
	}
	return ""
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// finish adds the page headers and the form token's cookie to resp.
func (p *pageRequest) finish(resp *Response) *Response {
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	for k, v := range pageHeaders {
		if _, set := resp.Headers[k]; !set {
			resp.Headers[k] = v
		}
	}
	if p.setCookie != "" {
		resp.Headers["Set-Cookie"] = p.setCookie
	}
	return resp
}

// formValue returns a field of an url-encoded or multipart form body.
func (r *Request) formValue(name string) string {
	req, err := http.NewRequest(r.Method, "/", bytes.NewReader(r.Body))
	if err != nil {
		return ""
	}
	req.Header.Set("Content-Type", r.Header("Content-Type"))
	if strings.HasPrefix(strings.ToLower(r.Header("Content-Type")), "multipart/") {
		if err := req.ParseMultipartForm(int64(len(r.Body)) + 1); err != nil {
			return ""
		}
		return req.FormValue(name)
	}
	return req.PostFormValue(name)
}

// pageData is what every template gets: the layout's fields and the page's
// own data.
type pageData struct {
	Title  string
	Access licensing.Access
	CSRF   string
	Page   any
}

// templates holds each page parsed with the layout.
var templates = map[string]*template.Template{}

var templateFuncs = template.FuncMap{
	"date":     func(d licensing.Date) string { return d.String() },
	"datetime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"join":     strings.Join,
}

func init() {
	pages, err := fs.Glob(webFiles, "web/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range pages {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "web/"), ".html")
		if base == "layout" {
			continue
		}
		templates[base] = template.Must(template.New("layout.html").Funcs(templateFuncs).ParseFS(webFiles, "web/layout.html", name))
	}
}

// render answers status with the page template name filled with data.
func (p *pageRequest) render(status int, name, title string, page any) (*Response, error) {
	t, ok := templates[name]
	if !ok {
		return nil, licensing.Errorf("pages.render", licensing.Internal, "There is no page template %q.", name)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, pageData{Title: title, Access: p.Access, CSRF: p.CSRF, Page: page}); err != nil {
		return nil, licensing.Wrap("pages.render", licensing.Internal, "The page could not be drawn.", err)
	}
	return &Response{Status: status, Body: b.String()}, nil
}

// redirect answers 303 See Other to path (after a form is accepted).
func redirect(path string) *Response {
	return &Response{Status: http.StatusSeeOther, Headers: map[string]string{"Location": path}}
}

// errorPage answers status with a page saying title and what to do.
func (s *Server) errorPage(p *pageRequest, status int, title, message string) *Response {
	resp, err := p.render(status, "error", title, struct{ Message string }{message})
	if err != nil {
		resp = &Response{Status: status, Body: title + ": " + message, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}}
	}
	return p.finish(resp)
}

// pageError answers err as a page: the status the API would answer, the
// sentence safe to show, and for no identity a sign-in.
func (s *Server) pageError(p *pageRequest, err error) *Response {
	status := StatusOf(err)
	switch licensing.ErrorCode(err) {
	case licensing.Unauthenticated:
		return signIn(p.Request, p.Path)
	case licensing.Forbidden:
		return s.errorPage(p, status, "Not yours to see", licensing.ErrorMessage(err)+" If you should see it, ask central IT to add you to the agency's delegates.")
	case licensing.NotFound:
		return s.errorPage(p, status, "Not found", licensing.ErrorMessage(err))
	}
	if status >= 500 {
		p.Log.Error("page failed", "path", p.Path, "status", status, "error", err)
	}
	return s.errorPage(p, status, "Something went wrong", licensing.ErrorMessage(err))
}

// staticFile serves a file of web/static: the style sheet and the script.
func staticFile(name string) (*Response, error) {
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	ext := name[strings.LastIndexByte(name, '.')+1:]
	ct, ok := types["."+ext]
	b, err := webFiles.ReadFile("web/static/" + name)
	if !ok || err != nil || strings.Contains(name, "/") {
		return nil, licensing.Errorf("pages.static", licensing.NotFound, "There is no file %q.", licensing.Truncate(name))
	}
	return &Response{Status: http.StatusOK, Body: string(b), Headers: map[string]string{"Content-Type": ct, "Cache-Control": "public, max-age=300",
		"X-Content-Type-Options": "nosniff"}}, nil
}

// pageHome sends admins to the overview of every agency, a delegate of one
// agency to its overview, and anyone else to the intake form.
func (s *Server) pageHome(ctx context.Context, p *pageRequest) (*Response, error) {
	switch {
	case p.Access.Admin:
		return redirect("/agencies"), nil
	case len(p.Access.Agencies) == 1:
		return redirect("/agencies/" + url.PathEscape(p.Access.Agencies[0])), nil
	}
	return p.render(http.StatusOK, "home", "Licensing", nil)
}

// formatCount writes n with thousands separators.
func formatCount(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + formatCount(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
