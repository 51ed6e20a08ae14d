package funchost

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// signInEnv is a Host with the local sign-in in front of the fake handler,
// listening on loopback, and a browser-like client (cookies, no automatic
// redirects).
type signInEnv struct {
	*testEnv
	url    string
	client *http.Client
}

func newSignInEnv(t *testing.T) *signInEnv {
	t.Helper()
	users := func(context.Context) []SignInUser {
		return []SignInUser{{Name: "admin@it.example.gov", Role: "central IT (ADMINS)"}, {Name: "pat@doa.example.gov", Role: "delegate of DOA"}}
	}
	env := newEnv(t, "testdata/app", nil, func(c *Config) { c.LocalSignIn = &LocalSignIn{Users: users} })
	srv := httptest.NewServer(env.host)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &signInEnv{testEnv: env, url: srv.URL, client: client}
}

func (e *signInEnv) do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *signInEnv) get(t *testing.T, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return e.do(t, req)
}

func (e *signInEnv) post(t *testing.T, path string, form url.Values, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return e.do(t, req)
}

// identityHeaders returns the identity headers and Identities the handler
// got in its last invocation.
func identityHeaders(t *testing.T, f *fakeHandler) (map[string]string, []string) {
	t.Helper()
	var req httpReq
	if err := json.Unmarshal(f.last(t).Data["req"], &req); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for k, v := range req.Headers {
		if c := http.CanonicalHeaderKey(k); strings.HasPrefix(c, "X-Ms-Client-Principal") || strings.HasPrefix(c, "X-Ms-Token-") {
			got[c] = strings.Join(v, ",")
		}
	}
	var names []string
	for _, id := range req.Identities {
		if id.Name != nil {
			names = append(names, *id.Name)
		}
	}
	return got, names
}

// forged are identity headers a browser or script might send itself.
var forged = map[string]string{
	"X-MS-CLIENT-PRINCIPAL-NAME": "admin@it.example.gov",
	"X-MS-CLIENT-PRINCIPAL-ID":   "00000000-0000-4000-8000-000000000001",
	"X-MS-CLIENT-PRINCIPAL":      base64.StdEncoding.EncodeToString([]byte(`{"auth_typ":"aad","name_typ":"name","claims":[{"typ":"name","val":"admin@it.example.gov"}]}`)),
	"X-MS-TOKEN-AAD-ID-TOKEN":    "forged",
}

func TestLocalSignInStripsForgedIdentity(t *testing.T) {
	e := newSignInEnv(t)
	resp, _ := e.get(t, "/api/agencies", forged)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/agencies: %d", resp.StatusCode)
	}
	headers, names := identityHeaders(t, e.fake)
	if len(headers) != 0 || len(names) != 0 {
		t.Errorf("without a session the handler got identity headers %v and identities %v; want none", headers, names)
	}
}

func TestLocalSignInOffByDefaultPassesHeaders(t *testing.T) {
	env := newEnv(t, "testdata/app", nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/agencies", nil)
	req.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", "admin@it.example.gov")
	env.host.ServeHTTP(rec, req)
	headers, _ := identityHeaders(t, env.fake)
	if headers["X-Ms-Client-Principal-Name"] != "admin@it.example.gov" {
		t.Errorf("without LocalSignIn the handler got %v; want the caller's X-MS-CLIENT-PRINCIPAL-NAME", headers)
	}
	rec = httptest.NewRecorder()
	env.host.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.auth/login/aad", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("without LocalSignIn GET /.auth/login/aad: %d, want 404 (nothing serves it)", rec.Code)
	}
}

func TestLocalSignInPage(t *testing.T) {
	e := newSignInEnv(t)
	resp, body := e.get(t, "/.auth/login/aad?post_login_redirect_uri=%2Frequests%2Fnew", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page: %d", resp.StatusCode)
	}
	for _, h := range []string{"Content-Security-Policy", "Cache-Control"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("sign-in page without %s", h)
		}
	}
	for _, want := range []string{
		`<label for="user">`, `id="user" name="user"`, `aria-describedby="user-hint"`,
		`name="post_login_redirect_uri" value="/requests/new"`,
		`name="as" value="admin@it.example.gov">Sign in as admin@it.example.gov</button> central IT (ADMINS)`,
		`name="as" value="pat@doa.example.gov"`, `id="sign-in"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("sign-in page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") {
		t.Errorf("sign-in page has inline script or style, which the policy forbids")
	}
	// A redirect target with markup is escaped, not interpreted.
	_, body = e.get(t, "/.auth/login/aad?post_login_redirect_uri="+url.QueryEscape(`/x"><b>`), nil)
	if strings.Contains(body, `"><b>`) {
		t.Errorf("redirect target not escaped:\n%s", body)
	}
}

func TestLocalSignInSessionSetsIdentity(t *testing.T) {
	e := newSignInEnv(t)
	resp, _ := e.post(t, "/.auth/login/aad", url.Values{"user": {" pat@doa.example.gov "}, "post_login_redirect_uri": {"/api/agencies/DOA?x=1"}}, nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/api/agencies/DOA?x=1" {
		t.Fatalf("sign in: %d Location %q; want 302 to /api/agencies/DOA?x=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	set := resp.Header.Get("Set-Cookie")
	for _, want := range []string{SignInCookie + "=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %q", set, want)
		}
	}
	resp, _ = e.get(t, "/api/agencies/DOA", forged)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET with session: %d", resp.StatusCode)
	}
	headers, names := identityHeaders(t, e.fake)
	if headers["X-Ms-Client-Principal-Name"] != "pat@doa.example.gov" || headers["X-Ms-Client-Principal-Idp"] != "aad" {
		t.Errorf("identity headers %v; want the session's name and idp aad", headers)
	}
	if _, ok := headers["X-Ms-Client-Principal-Id"]; ok {
		t.Errorf("the forged X-MS-CLIENT-PRINCIPAL-ID reached the handler: %v", headers)
	}
	if _, ok := headers["X-Ms-Token-Aad-Id-Token"]; ok {
		t.Errorf("the forged X-MS-TOKEN-AAD-ID-TOKEN reached the handler: %v", headers)
	}
	if len(names) != 1 || names[0] != "pat@doa.example.gov" {
		t.Errorf("Identities names %v; want [pat@doa.example.gov] from X-MS-CLIENT-PRINCIPAL", names)
	}

	resp, body := e.get(t, "/.auth/me", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"user_id":"pat@doa.example.gov"`) {
		t.Errorf("/.auth/me: %d %s", resp.StatusCode, body)
	}
	_, body = e.get(t, "/.auth/login/aad", nil)
	if !strings.Contains(body, "You are signed in as <strong>pat@doa.example.gov</strong>") {
		t.Errorf("sign-in page does not say who is signed in:\n%s", body)
	}

	resp, _ = e.get(t, "/.auth/logout?post_logout_redirect_uri=/", nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
		t.Errorf("logout: %d %q; want 302 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	e.get(t, "/api/agencies/DOA", nil)
	if headers, _ := identityHeaders(t, e.fake); len(headers) != 0 {
		t.Errorf("after logout the handler got %v; want no identity", headers)
	}
	if resp, _ := e.get(t, "/.auth/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/.auth/me after logout: %d, want 401", resp.StatusCode)
	}
}

func TestLocalSignInObjectID(t *testing.T) {
	e := newSignInEnv(t)
	const oid = "6F1C0F55-1B1B-4C4C-9D9D-000000000001"
	e.post(t, "/.auth/login/aad", url.Values{"as": {oid}}, nil)
	e.get(t, "/api/agencies", nil)
	headers, _ := identityHeaders(t, e.fake)
	if headers["X-Ms-Client-Principal-Id"] != strings.ToLower(oid) || headers["X-Ms-Client-Principal-Name"] != "" {
		t.Errorf("object id sign-in gave %v; want X-MS-CLIENT-PRINCIPAL-ID only", headers)
	}
}

func TestLocalSignInRefusesBadInput(t *testing.T) {
	e := newSignInEnv(t)
	tests := []struct {
		name   string
		form   url.Values
		header map[string]string
		status int
		want   []string
	}{
		{"empty name", url.Values{"user": {"  "}}, nil, http.StatusUnprocessableEntity,
			[]string{`class="error-summary"`, `href="#user"`, `id="user-error"`, `aria-describedby="user-hint user-error"`, `aria-invalid="true"`}},
		{"no domain", url.Values{"user": {"pat"}}, nil, http.StatusUnprocessableEntity, []string{"name@domain"}},
		{"invisible character", url.Values{"user": {"pat\u200b@doa.example.gov"}}, nil, http.StatusUnprocessableEntity, []string{"invisible"}},
		{"redirect elsewhere", url.Values{"user": {"pat@doa.example.gov"}, "post_login_redirect_uri": {"https://evil.example/"}}, nil, http.StatusBadRequest, []string{"a path on this site"}},
		{"protocol-relative redirect", url.Values{"user": {"pat@doa.example.gov"}, "post_login_redirect_uri": {"//evil.example/x"}}, nil, http.StatusBadRequest, []string{"a path on this site"}},
		{"backslash redirect", url.Values{"user": {"pat@doa.example.gov"}, "post_login_redirect_uri": {"/\\evil.example"}}, nil, http.StatusBadRequest, []string{"a path on this site"}},
		{"other site's form", url.Values{"user": {"pat@doa.example.gov"}}, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden, []string{"another site"}},
	}
	for _, tt := range tests {
		resp, body := e.post(t, "/.auth/login/aad", tt.form, tt.header)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
		if c := resp.Header.Get("Set-Cookie"); c != "" {
			t.Errorf("%s: a cookie was set: %s", tt.name, c)
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: page lacks %q:\n%s", tt.name, w, body)
			}
		}
	}
	if resp, _ := e.get(t, "/.auth/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after refused sign-ins /.auth/me: %d, want 401", resp.StatusCode)
	}
}

func TestLocalSignInRefusesForeignCookie(t *testing.T) {
	e := newSignInEnv(t)
	other := newSignInEnv(t)
	resp, _ := other.post(t, "/.auth/login/aad", url.Values{"user": {"admin@it.example.gov"}}, nil)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == SignInCookie {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie from the other host")
	}
	name, mac, _ := strings.Cut(cookie.Value, ".")
	for _, value := range []string{
		cookie.Value, // signed by another host's key
		base64.RawURLEncoding.EncodeToString([]byte("admin@it.example.gov")) + "." + mac + "x",
		name,
	} {
		e.get(t, "/api/agencies", map[string]string{"Cookie": SignInCookie + "=" + value})
		if headers, _ := identityHeaders(t, e.fake); len(headers) != 0 {
			t.Errorf("cookie %q gave identity %v; want none", value, headers)
		}
	}
}
