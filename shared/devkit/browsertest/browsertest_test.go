package browsertest

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

const policy = "default-src 'none'; style-src 'self'; script-src 'self'; form-action 'self'"

var pages = template.Must(template.New("").Parse(`
{{define "form"}}<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>Form</title></head><body>
<p id="who">{{.}}</p>
<form method="post" action="/echo" enctype="multipart/form-data">
<label for="name">Name</label><input type="text" id="name" name="name" value="old">
<label for="files">Files</label><input type="file" id="files" name="files" multiple>
<button type="submit" id="send">Send</button>
</form></body></html>{{end}}
{{define "echo"}}<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>Echo</title></head><body>
<h1 id="name">{{.Name}}</h1><ul>{{range .Files}}<li class="file">{{.}}</li>{{end}}</ul></body></html>{{end}}
{{define "signin"}}<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in</title></head><body>
<form method="post" action="/.auth/login/aad"><input type="hidden" name="next" value="{{.}}">
<label for="user">User</label><input type="text" id="user" name="user"><button id="sign-in">Sign in</button></form></body></html>{{end}}
{{define "dirty"}}<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>Dirty</title></head><body>
<p style="color: red">inline style</p><script>document.title = "ran";</script></body></html>{{end}}
`))

// site is a small site with the parts the helpers drive: a sign-in that
// sets a cookie, a multipart form with files, and pages under a Content
// Security Policy, with and without inline style and script.
func site(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	show := func(w http.ResponseWriter, name string, data any) {
		w.Header().Set("Content-Security-Policy", policy)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := pages.ExecuteTemplate(w, name, data); err != nil {
			t.Error(err)
		}
	}
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		who := "nobody"
		if c, err := r.Cookie("session"); err == nil {
			who = c.Value
		}
		show(w, "form", who)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var files []string
		for _, fh := range r.MultipartForm.File["files"] {
			f, _ := fh.Open()
			b, _ := io.ReadAll(f)
			f.Close()
			files = append(files, fmt.Sprintf("%s %d %s", fh.Filename, len(b), bytes.TrimSpace(b)))
		}
		show(w, "echo", struct {
			Name  string
			Files []string
		}{r.FormValue("name"), files})
	})
	mux.HandleFunc("GET /.auth/login/aad", func(w http.ResponseWriter, r *http.Request) {
		show(w, "signin", r.URL.Query().Get("post_login_redirect_uri"))
	})
	mux.HandleFunc("POST /.auth/login/aad", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: r.FormValue("user"), Path: "/", HttpOnly: true})
		http.Redirect(w, r, r.FormValue("next"), http.StatusFound)
	})
	mux.HandleFunc("GET /dirty", func(w http.ResponseWriter, r *http.Request) { show(w, "dirty", nil) })
	mux.HandleFunc("GET /missing", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no such page", http.StatusNotFound) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestPageDrivesFormsLikeAPerson(t *testing.T) {
	srv := site(t)
	b := Start(t, Options{})
	p := b.NewPage(t, srv.URL)
	if st := p.SignIn("pat@doa.example.gov", "/form"); st != http.StatusOK {
		t.Fatalf("sign in: %d", st)
	}
	if p.Path() != "/form" || p.Text("#who") != "pat@doa.example.gov" {
		t.Fatalf("after sign-in at %s as %q; want /form as pat@doa.example.gov", p.Path(), p.Text("#who"))
	}
	dir := t.TempDir()
	a, c := filepath.Join(dir, "a.txt"), filepath.Join(dir, "c.txt")
	os.WriteFile(a, []byte("alpha"), 0o644)
	os.WriteFile(c, []byte("gamma"), 0o644)
	p.Fill("#name", "")
	p.Type("#name", "Ada Lovelace")
	p.SetFiles("#files", a, c)
	if st := p.ClickAndWait("#send"); st != http.StatusOK {
		t.Fatalf("send: %d", st)
	}
	if got := p.Text("#name"); got != "Ada Lovelace" {
		t.Errorf("the server got name %q", got)
	}
	if got := strings.Join(p.Texts(".file"), "|"); got != "a.txt 5 alpha|c.txt 5 gamma" {
		t.Errorf("the server got files %q", got)
	}
	if !p.Has("h1#name") || p.Has("#nothing") {
		t.Errorf("Has does not tell present from absent elements")
	}
	if v, ok := p.Attr("h1", "id"); !ok || v != "name" {
		t.Errorf("Attr(h1, id) = %q %v", v, ok)
	}
	if got := p.Header("content-security-policy"); got != policy {
		t.Errorf("Header(content-security-policy) = %q, want %q", got, policy)
	}
	if st := p.Open("/missing"); st != http.StatusNotFound {
		t.Errorf("Open /missing: %d, want 404", st)
	}

	// A second page is a second person: it has no cookie.
	other := b.NewPage(t, srv.URL)
	other.Open("/form")
	if got := other.Text("#who"); got != "nobody" {
		t.Errorf("a new page shares the first one's session: %q", got)
	}
	if v := p.CSPViolations(); len(v) != 0 {
		t.Errorf("pages without inline style or script reported violations: %v", v)
	}
}

func TestCSPViolationsAreSeen(t *testing.T) {
	srv := site(t)
	b := Start(t, Options{})
	p := b.NewPage(t, srv.URL)
	p.Open("/dirty")
	if p.Title() == "ran" {
		t.Errorf("the inline script ran despite the policy")
	}
	v := p.CSPViolations()
	var style, script bool
	for _, m := range v {
		style = style || strings.Contains(m, "style")
		script = script || strings.Contains(m, "script")
	}
	if !style || !script {
		t.Errorf("violations %q; want the inline style and the inline script reported", v)
	}
}

func TestScreenshotAndPhoneViewport(t *testing.T) {
	srv := site(t)
	b := Start(t, Options{})
	p := b.NewPage(t, srv.URL)
	p.SetViewport(390, 844, true)
	p.Open("/form")
	width := run(p, "reading the width", chromedp.Evaluate[int](`window.innerWidth`))
	if width != 390 {
		t.Errorf("phone viewport is %d px wide, want 390", width)
	}
	file := filepath.Join(t.TempDir(), "shots", "form.png")
	p.Screenshot(file)
	png, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1000 {
		t.Errorf("screenshot is %d bytes, not a PNG of the page", len(png))
	}
}
