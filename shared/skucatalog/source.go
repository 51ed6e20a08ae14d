package skucatalog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Defaults of Config.
const (
	DefaultCacheName   = "catalog/sku-names.csv"
	DefaultMaxAge      = 7 * 24 * time.Hour
	DefaultTimeout     = time.Minute
	DefaultMinProducts = 100
)

// blobScheme prefixes a Config.URL that names a blob in the Cache.
const blobScheme = "blob:"

// Cache keeps the list between runs: in production a blob container
// (shared/blobstore.Store, through a small adapter in main).
type Cache interface {
	// Get opens the blob name for reading and says when it was last
	// written. A missing blob is a NotFound *licensing.Error. The caller
	// closes the reader.
	Get(ctx context.Context, name string) (io.ReadCloser, time.Time, error)
	// Put stores the content of r as the blob name, replacing it.
	Put(ctx context.Context, name string, r io.Reader) error
}

// Config configures a Source.
type Config struct {
	// URL is where the list is published: an http or https URL, or
	// "blob:" and a blob name in Cache for a list an administrator
	// uploaded. Empty means the built-in table only.
	URL string
	// HTTPClient downloads the list; a plain client when nil. Timeout
	// bounds each download whatever the client's own settings.
	HTTPClient *http.Client
	// Cache keeps the downloaded list; nil downloads it on every Refresh.
	// Required for a blob: URL.
	Cache Cache
	// CacheName is the blob the downloaded list is kept in
	// (DefaultCacheName when empty).
	CacheName string
	// MaxAge is how long a cached list is used before it is downloaded
	// again (DefaultMaxAge when zero).
	MaxAge time.Duration
	// Timeout bounds a download (DefaultTimeout when zero).
	Timeout time.Duration
	// MinProducts is the fewest SKUs a download must name to be used and
	// cached; a shorter list is taken for a broken download
	// (DefaultMinProducts when zero).
	MinProducts int
	// Now tells the time (time.Now when nil).
	Now func() time.Time
	// Logger receives what went wrong in detail (slog.Default when nil).
	Logger *slog.Logger
}

// Source loads the catalog from the published list, a cached copy of it or
// the built-in table, whichever is the best it can have. It is safe for
// concurrent use.
type Source struct {
	cfg      Config
	blobName string // the uploaded list's blob, for a blob: URL
	shown    string // the URL as it may be shown: no query or user
	maxSize  int64
}

var _ licensing.CatalogSource = (*Source)(nil)

// NewSource checks cfg, fills in its defaults and returns a Source. A URL
// that is neither empty, http(s) nor blob: (with a Cache) is Invalid.
func NewSource(cfg Config) (*Source, error) {
	const op = "skucatalog.new-source"
	s := &Source{maxSize: MaxSize}
	cfg.URL = strings.TrimSpace(cfg.URL)
	invalid := func(msg string) error {
		return &licensing.Error{Op: op, Code: licensing.Invalid, Message: "The SKU list setting is not usable.",
			Fields: []licensing.FieldError{{Field: "URL", Message: msg}}}
	}
	switch {
	case cfg.URL == "":
	case strings.HasPrefix(strings.ToLower(cfg.URL), blobScheme):
		s.blobName = strings.TrimLeft(strings.TrimSpace(cfg.URL[len(blobScheme):]), "/")
		if s.blobName == "" {
			return nil, invalid("blob: must be followed by the name of the uploaded list, such as blob:catalog/uploaded.csv.")
		}
		if cfg.Cache == nil {
			return nil, invalid("A blob: list needs a blob store to read it from.")
		}
		s.shown = "blob " + s.blobName
	default:
		u, err := url.Parse(cfg.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, invalid("Give an http(s) URL of the CSV, blob: and a blob name, or nothing for the built-in table.")
		}
		s.shown = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.CacheName == "" {
		cfg.CacheName = DefaultCacheName
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MinProducts <= 0 {
		cfg.MinProducts = DefaultMinProducts
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s.cfg = cfg
	return s, nil
}

// Refresh returns the best catalog it can have and a sentence for the run's
// log saying where the names came from: the cached list while it is younger
// than MaxAge; else a fresh download, which replaces the cached copy; else,
// when the download fails, the cached copy however old; else the built-in
// table. With a blob: URL it reads the uploaded list, falling back to the
// built-in table. Every catalog falls back to the built-in table for SKUs
// its list lacks.
//
// Refresh fails only when ctx ends (Unavailable); an unreachable or broken
// list is logged and reported in the sentence, never returned as an error.
func (s *Source) Refresh(ctx context.Context) (licensing.Catalog, string, error) {
	const op = "skucatalog.refresh"
	if err := ctx.Err(); err != nil {
		return nil, "", licensing.Wrap(op, licensing.Unavailable, "Loading the SKU names was cut short.", err)
	}
	var (
		c   *Catalog
		msg string
	)
	switch {
	case s.cfg.URL == "":
		c = Builtin()
		msg = "SKU names: " + builtinSentence() + " (no published list is configured)."
	case s.blobName != "":
		c, msg = s.fromUpload(ctx)
	default:
		c, msg = s.fromWeb(ctx)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", licensing.Wrap(op, licensing.Unavailable, "Loading the SKU names was cut short.", err)
	}
	return c, msg, nil
}

func builtinSentence() string {
	return "the built-in table of " + products(Builtin().Len()) + " in common use; other SKUs show their part number"
}

// fromUpload reads the list an administrator uploaded.
func (s *Source) fromUpload(ctx context.Context) (*Catalog, string) {
	c, mod, err := s.readBlob(ctx, s.blobName)
	if err == nil && c == nil {
		err = licensing.Errorf("skucatalog.read", licensing.NotFound, "Blob %s does not exist.", s.blobName)
	}
	if err == nil && c.stats.Products == 0 {
		err = licensing.Errorf("skucatalog.read", licensing.Invalid, "Blob %s names no product.", s.blobName)
	}
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "skucatalog: the uploaded SKU list is not usable; using the built-in table",
			"blob", s.blobName, "err", err)
		return Builtin(), fmt.Sprintf("SKU names: the uploaded list in blob %s could not be used (%s); using %s.",
			s.blobName, reason(err), builtinSentence())
	}
	s.logLoaded(ctx, "uploaded blob", c)
	return c.withSource(s.shown), fmt.Sprintf("SKU names: %s from the uploaded list in blob %s (uploaded %s)%s.",
		products(c.stats.Products), s.blobName, mod.UTC().Format(time.DateOnly), skippedNote(c))
}

// fromWeb uses the cached list while it is fresh, downloading a new one
// when it is not.
func (s *Source) fromWeb(ctx context.Context) (*Catalog, string) {
	log := s.cfg.Logger
	now := s.cfg.Now()
	var cached *Catalog
	var cachedAt time.Time
	if s.cfg.Cache != nil {
		c, mod, err := s.readBlob(ctx, s.cfg.CacheName)
		switch {
		case err != nil:
			log.WarnContext(ctx, "skucatalog: the cached SKU list is not usable", "blob", s.cfg.CacheName, "err", err)
		case c != nil:
			cached, cachedAt = c, mod
		}
	}
	if cached != nil && now.Sub(cachedAt) < s.cfg.MaxAge {
		s.logLoaded(ctx, "cache", cached)
		return cached.withSource("cached copy of " + s.shown), fmt.Sprintf(
			"SKU names: %s from the cached copy of %s (downloaded %s; refreshed after %s).",
			products(cached.stats.Products), s.shown, ago(now, cachedAt), age(s.cfg.MaxAge))
	}

	fresh, raw, err := s.download(ctx)
	if err == nil {
		s.logLoaded(ctx, "download", fresh)
		msg := fmt.Sprintf("SKU names: %s downloaded from %s", products(fresh.stats.Products), s.shown)
		if s.cfg.Cache != nil {
			if perr := s.cfg.Cache.Put(ctx, s.cfg.CacheName, bytes.NewReader(raw)); perr != nil {
				log.WarnContext(ctx, "skucatalog: the downloaded SKU list could not be cached", "blob", s.cfg.CacheName, "err", perr)
				msg += fmt.Sprintf("; it could not be kept for next time (%s)", reason(perr))
			}
		}
		return fresh.withSource(s.shown), msg + skippedNote(fresh) + "."
	}
	if cached != nil {
		log.WarnContext(ctx, "skucatalog: the SKU list could not be downloaded; using the cached copy",
			"url", s.shown, "cachedAt", cachedAt, "err", err)
		return cached.withSource("cached copy of " + s.shown), fmt.Sprintf(
			"SKU names: the list could not be downloaded from %s (%s); using the cached copy from %s (%s old) with %s.",
			s.shown, reason(err), cachedAt.UTC().Format(time.DateOnly), age(now.Sub(cachedAt)), products(cached.stats.Products))
	}
	log.WarnContext(ctx, "skucatalog: the SKU list could not be downloaded and there is no cached copy; using the built-in table",
		"url", s.shown, "err", err)
	return Builtin(), fmt.Sprintf("SKU names: the list could not be downloaded from %s (%s) and there is no usable cached copy; using %s.",
		s.shown, reason(err), builtinSentence())
}

// readBlob parses the blob name of the cache. A missing blob is (nil, zero
// time, nil).
func (s *Source) readBlob(ctx context.Context, name string) (*Catalog, time.Time, error) {
	rc, mod, err := s.cfg.Cache.Get(ctx, name)
	if licensing.ErrorCode(err) == licensing.NotFound {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rc.Close()
	c, err := parse(rc, s.maxSize)
	if err != nil {
		return nil, time.Time{}, err
	}
	return c, mod, nil
}

// download fetches and parses the list, returning its raw bytes for the
// cache. A list naming fewer than MinProducts SKUs is Invalid.
func (s *Source) download(ctx context.Context) (*Catalog, []byte, error) {
	const op = "skucatalog.download"
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.URL, nil)
	if err != nil {
		return nil, nil, licensing.Wrap(op, licensing.Invalid, "The SKU list URL is not usable.", err)
	}
	req.Header.Set("Accept", "text/csv, text/plain;q=0.5, */*;q=0.1")
	req.Header.Set("User-Agent", "licensetrack-skucatalog")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, nil, licensing.Wrap(op, licensing.Unavailable, "The server did not answer.", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		code := licensing.Invalid
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
			code = licensing.Unavailable
		}
		return nil, nil, licensing.Errorf(op, code, "The server answered %s.", resp.Status)
	}
	if resp.ContentLength > s.maxSize {
		return nil, nil, licensing.Errorf(op, licensing.TooLarge, "The list is larger than %d MiB.", s.maxSize>>20)
	}
	var raw bytes.Buffer
	if resp.ContentLength > 0 {
		raw.Grow(int(resp.ContentLength))
	}
	c, err := parse(io.TeeReader(resp.Body, &raw), s.maxSize)
	if err != nil {
		return nil, nil, err
	}
	if c.stats.Products < s.cfg.MinProducts {
		return nil, nil, licensing.Errorf(op, licensing.Invalid,
			"The list names %s where at least %d are expected.", products(c.stats.Products), s.cfg.MinProducts)
	}
	return c, raw.Bytes(), nil
}

func (s *Source) logLoaded(ctx context.Context, from string, c *Catalog) {
	st := c.stats
	s.cfg.Logger.InfoContext(ctx, "skucatalog: SKU list loaded", "from", from, "source", s.shown,
		"products", st.Products, "rows", st.Rows, "skipped", st.Skipped, "skippedLines", st.SkippedLines, "conflicts", st.Conflicts)
}

// reason is the part of err that may be shown, as a clause: without its
// final period, and starting in lower case unless it starts with an
// abbreviation ("SKU").
func reason(err error) string {
	r := strings.TrimSuffix(licensing.ErrorMessage(err), ".")
	if len(r) > 1 && 'A' <= r[0] && r[0] <= 'Z' && 'a' <= r[1] && r[1] <= 'z' {
		r = string(r[0]+'a'-'A') + r[1:]
	}
	return r
}

// skippedNote mentions the rows a list had that could not be read.
func skippedNote(c *Catalog) string {
	switch n := c.stats.Skipped; n {
	case 0:
		return ""
	case 1:
		return "; 1 row was skipped"
	default:
		return "; " + plural(n, "row") + " were skipped"
	}
}

// ago says how long before now t was, roughly.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	if d < time.Minute {
		return "just now"
	}
	return age(d) + " ago"
}

// products says how many products there are.
func products(n int) string { return plural(n, "product") }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// age writes d in the largest whole unit among days, hours and minutes.
func age(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= time.Hour:
		return plural(int(d/time.Hour), "hour")
	default:
		return plural(max(int(d/time.Minute), 0), "minute")
	}
}
