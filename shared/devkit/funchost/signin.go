package funchost

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// LocalSignIn makes a Host play App Service authentication ("Easy Auth")
// for browsers on a developer's machine, where Microsoft Entra ID is out of
// reach. The host then owns /.auth/*:
//
//   - GET /.auth/login/aad?post_login_redirect_uri=/path shows a page where
//     the developer says who they are (a user principal name or an object
//     id; no password), and POST /.auth/login/aad sets the session cookie
//     SignInCookie and redirects to the path;
//   - /.auth/logout clears the cookie;
//   - /.auth/me answers the signed-in identity as JSON (401 without one).
//
// As App Service does, every other request first loses the
// X-MS-CLIENT-PRINCIPAL* and X-MS-TOKEN-* headers it arrived with, so a
// browser cannot claim an identity, and then gets X-MS-CLIENT-PRINCIPAL-NAME
// (or -ID for an object id), -IDP and X-MS-CLIENT-PRINCIPAL from a valid
// session cookie. Tests and scripts that send X-MS-CLIENT-PRINCIPAL-NAME
// themselves need a Host without LocalSignIn.
type LocalSignIn struct {
	// Users lists the people the sign-in page offers (central IT, the
	// agencies' delegates), each a button; any other name can be typed.
	// It is called for each page, so it may read the current agencies.
	// Nil: the page has the text field only.
	Users func(ctx context.Context) []SignInUser
}

// SignInUser is a person the sign-in page offers.
type SignInUser struct {
	// Name is a user principal name or an object id (GUID).
	Name string
	// Role says who they are, such as "central IT (ADMINS)".
	Role string
}

// SignInCookie is the session cookie of the local sign-in. Its value is the
// identity and an HMAC of it under a key of the Host, so a cookie of another
// harness run (or one typed by hand) is not a session.
const SignInCookie = "AppServiceAuthSession-dev"

// signInPath is App Service authentication's sign-in for Microsoft Entra ID.
const signInPath = "/.auth/login/aad"

// Easy Auth's claim types for the name and roles of an Entra ID user.
const (
	nameClaimType = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	roleClaimType = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
	oidClaimType  = "http://schemas.microsoft.com/identity/claims/objectidentifier"
)

var objectIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// signIn is a Host's local sign-in.
type signIn struct {
	cfg LocalSignIn
	key []byte
}

func newSignIn(cfg *LocalSignIn) *signIn {
	if cfg == nil {
		return nil
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &signIn{cfg: *cfg, key: key}
}

// serve answers /.auth/* requests; it reports false for any other path.
func (s *signIn) serve(w http.ResponseWriter, r *http.Request) bool {
	p := strings.TrimRight(strings.ToLower(r.URL.Path), "/")
	if p != "/.auth" && !strings.HasPrefix(p, "/.auth/") {
		return false
	}
	switch p {
	case signInPath:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.page(w, r, http.StatusOK, signInForm{Redirect: r.URL.Query().Get("post_login_redirect_uri")})
		case http.MethodPost:
			s.login(w, r)
		default:
			w.Header().Set("Allow", "GET, POST")
			s.page(w, r, http.StatusMethodNotAllowed, signInForm{Problem: "Open the sign-in page with GET, send its form with POST."})
		}
	case "/.auth/logout":
		s.logout(w, r)
	case "/.auth/me":
		s.me(w, r)
	default:
		s.page(w, r, http.StatusNotFound, signInForm{Problem: "The local sign-in serves /.auth/login/aad, /.auth/logout and /.auth/me only."})
	}
	return true
}

// identify replaces the identity headers of r with the session's.
func (s *signIn) identify(r *http.Request) *http.Request {
	r = r.Clone(r.Context())
	for k := range r.Header {
		if c := http.CanonicalHeaderKey(k); strings.HasPrefix(c, "X-Ms-Client-Principal") || strings.HasPrefix(c, "X-Ms-Token-") {
			delete(r.Header, k)
		}
	}
	name, ok := s.session(r)
	if !ok {
		return r
	}
	r.Header.Set("X-MS-CLIENT-PRINCIPAL-IDP", "aad")
	claims := []map[string]string{}
	if objectIDPattern.MatchString(name) {
		id := strings.ToLower(name)
		r.Header.Set("X-MS-CLIENT-PRINCIPAL-ID", id)
		claims = append(claims, map[string]string{"typ": oidClaimType, "val": id})
	} else {
		r.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", name)
		claims = append(claims, map[string]string{"typ": nameClaimType, "val": name}, map[string]string{"typ": "preferred_username", "val": name})
	}
	principal, _ := json.Marshal(map[string]any{"auth_typ": "aad", "name_typ": nameClaimType, "role_typ": roleClaimType, "claims": claims})
	r.Header.Set("X-MS-CLIENT-PRINCIPAL", base64.StdEncoding.EncodeToString(principal))
	return r
}

// session returns the identity of a valid session cookie.
func (s *signIn) session(r *http.Request) (string, bool) {
	c, err := r.Cookie(SignInCookie)
	if err != nil {
		return "", false
	}
	enc, mac, ok := strings.Cut(c.Value, ".")
	if !ok {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", false
	}
	want := s.mac(raw)
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !hmac.Equal(got, want) {
		return "", false
	}
	return string(raw), true
}

func (s *signIn) mac(name []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(name)
	return m.Sum(nil)
}

func (s *signIn) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SignInCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, MaxAge: maxAge}
}

// login signs the browser in as the form's user and sends it on.
func (s *signIn) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.page(w, r, http.StatusBadRequest, signInForm{Problem: "The form could not be read; open the sign-in page and send it again."})
		return
	}
	form := signInForm{Redirect: r.PostForm.Get("post_login_redirect_uri"), User: strings.TrimSpace(r.PostForm.Get("user"))}
	if as := strings.TrimSpace(r.PostForm.Get("as")); as != "" {
		form.User = as
	}
	if origin := r.Header.Get("Origin"); origin != "" && origin != "null" {
		if o, err := url.Parse(origin); err != nil || !strings.EqualFold(o.Host, r.Host) {
			s.page(w, r, http.StatusForbidden, signInForm{Redirect: form.Redirect, Problem: "The sign-in form was sent from another site; open the sign-in page here."})
			return
		}
	}
	target, ok := localRedirect(r, form.Redirect)
	if !ok {
		s.page(w, r, http.StatusBadRequest, signInForm{Problem: "post_login_redirect_uri must be a path on this site, such as /requests/new."})
		return
	}
	if msg := checkUser(form.User); msg != "" {
		form.UserError = msg
		s.page(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	value := base64.RawURLEncoding.EncodeToString([]byte(form.User)) + "." + base64.RawURLEncoding.EncodeToString(s.mac([]byte(form.User)))
	http.SetCookie(w, s.cookie(r, value, 0))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

// checkUser returns what is wrong with a typed identity, or "".
func checkUser(u string) string {
	switch {
	case u == "":
		return "Enter a user principal name, such as pat.doe@doa.example.gov, or choose a person below."
	case len(u) > 256:
		return "The name is longer than 256 characters."
	case strings.IndexFunc(u, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		return "The name has spaces or invisible characters; type it without them."
	case !objectIDPattern.MatchString(u) && !strings.Contains(u, "@"):
		return "Enter a user principal name (name@domain) or an object id (a GUID)."
	}
	return ""
}

// localRedirect returns where to send the browser after signing in: a
// path of this site (default /), or an absolute URL of this host.
func localRedirect(r *http.Request, target string) (string, bool) {
	if target == "" {
		return "/", true
	}
	u, err := url.Parse(target)
	if err != nil || strings.ContainsAny(target, "\\\r\n") {
		return "", false
	}
	if u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(target, "//") {
		return target, true
	}
	if (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, r.Host) {
		return u.RequestURI(), true
	}
	return "", false
}

// logout clears the session and sends the browser to
// post_logout_redirect_uri (a path of this site), or says it signed out.
func (s *signIn) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.cookie(r, "", -1))
	if target, ok := localRedirect(r, r.URL.Query().Get("post_logout_redirect_uri")); ok && r.URL.Query().Get("post_logout_redirect_uri") != "" {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	s.page(w, r, http.StatusOK, signInForm{SignedOut: true})
}

// me answers the session's identity as App Service's /.auth/me does.
func (s *signIn) me(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	name, ok := s.session(r)
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("[]\n"))
		return
	}
	claimType := nameClaimType
	if objectIDPattern.MatchString(name) {
		claimType = oidClaimType
	}
	_ = json.NewEncoder(w).Encode([]map[string]any{{
		"provider_name": "aad",
		"user_id":       name,
		"user_claims":   []map[string]string{{"typ": claimType, "val": name}},
	}})
}

// signInForm is what the sign-in page shows.
type signInForm struct {
	Redirect  string
	User      string
	UserError string
	// Problem is a page-level error (a bad redirect, a wrong method).
	Problem   string
	SignedOut bool
	Current   string
	Users     []SignInUser
}

// page writes the sign-in page with status.
func (s *signIn) page(w http.ResponseWriter, r *http.Request, status int, f signInForm) {
	if f.Redirect == "" {
		f.Redirect = "/"
	}
	if !f.SignedOut {
		f.Current, _ = s.session(r)
		if s.cfg.Users != nil {
			f.Users = s.cfg.Users(r.Context())
		}
	}
	var b bytes.Buffer
	if err := signInPage.Execute(&b, f); err != nil {
		http.Error(w, "the sign-in page could not be drawn: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b.Bytes())
	}
}

// signInPage uses the app's style sheet and error summary conventions.
var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .SignedOut}}Signed out{{else}}Sign in{{end}} · Licensing (local)</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<header class="site">
  <a class="brand" href="/">Licensing</a>
  <p class="who">Local sign-in of the development harness, standing in for Microsoft Entra ID</p>
</header>
<main id="main">
{{if .SignedOut}}
<h1>Signed out</h1>
<p>Your local session has ended.</p>
<p><a class="button" id="sign-in-again" href="/.auth/login/aad">Sign in</a></p>
{{else}}
<h1>Sign in</h1>
{{if .Problem}}<div class="error-summary" id="error-summary" tabindex="-1" role="alert"><h2>The sign-in could not go on</h2><p>{{.Problem}}</p></div>{{end}}
{{if .UserError}}<div class="error-summary" id="error-summary" tabindex="-1" role="alert"><h2>There is a problem</h2><ul><li><a href="#user">{{.UserError}}</a></li></ul></div>{{end}}
{{if .Current}}<p id="signed-in-as">You are signed in as <strong>{{.Current}}</strong>. <a href="/.auth/logout">Sign out</a></p>{{end}}
<p>On this machine there is no password: say who you are and the harness signs you in, as App Service
authentication does in Azure after Microsoft Entra ID.</p>
<form method="post" action="/.auth/login/aad" novalidate>
  <input type="hidden" name="post_login_redirect_uri" value="{{.Redirect}}">
  <div class="field{{if .UserError}} has-error{{end}}">
    <label for="user">User principal name or object id</label>
    <p class="hint" id="user-hint">Such as an administrator in ADMINS or an agency's delegate.</p>
    {{if .UserError}}<p class="error" id="user-error">{{.UserError}}</p>{{end}}
    <input type="text" id="user" name="user" value="{{.User}}" autocomplete="username" spellcheck="false" autocapitalize="none"
      aria-describedby="user-hint{{if .UserError}} user-error{{end}}"{{if .UserError}} aria-invalid="true"{{end}}>
  </div>
  <button type="submit" id="sign-in">Sign in</button>
</form>
{{if .Users}}
<h2>People in this app</h2>
<ul>
{{range .Users}}  <li><form method="post" action="/.auth/login/aad"><input type="hidden" name="post_login_redirect_uri" value="{{$.Redirect}}"><button type="submit" name="as" value="{{.Name}}">Sign in as {{.Name}}</button> {{.Role}}</form></li>
{{end}}</ul>
{{end}}
{{end}}
</main>
</body>
</html>
`))
