package funchost

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Route is a parsed httpTrigger route template in the ASP.NET Core syntax the
// host uses: literal segments and parameters such as {id}, {id?}, {id:int},
// {id:int?}, {kind=all} and a final catch-all {*rest}. Literals match without
// regard to case.
type Route struct {
	template string
	segments []routeSegment
}

type routeSegment struct {
	literal string      // set for a literal segment
	param   *routeParam // set for a parameter segment
}

type routeParam struct {
	name        string
	optional    bool
	catchAll    bool
	hasDefault  bool
	def         string
	constraints []routeConstraint
}

type routeConstraint struct {
	text  string
	match func(string) bool
}

// ParseRoute parses a route template. A leading slash is ignored.
func ParseRoute(template string) (*Route, error) {
	t := strings.TrimPrefix(strings.TrimSpace(template), "/")
	r := &Route{template: t}
	if t == "" {
		return r, nil
	}
	seen := map[string]bool{}
	optionalSeen := false
	parts := strings.Split(t, "/")
	for i, part := range parts {
		if part == "" {
			return nil, fmt.Errorf("route %q: empty segment", template)
		}
		if !strings.ContainsAny(part, "{}") {
			if optionalSeen {
				return nil, fmt.Errorf("route %q: literal segment %q follows an optional parameter", template, part)
			}
			r.segments = append(r.segments, routeSegment{literal: part})
			continue
		}
		// Inside a parameter, {{ and }} stand for literal braces (in a regex).
		inner := ""
		if len(part) >= 2 && part[0] == '{' && part[len(part)-1] == '}' {
			inner = part[1 : len(part)-1]
		}
		if unescaped := strings.NewReplacer("{{", "", "}}", "").Replace(inner); inner == "" || strings.ContainsAny(unescaped, "{}") {
			return nil, fmt.Errorf("route %q: segment %q must be a literal or exactly one {parameter} (complex segments are not supported)", template, part)
		}
		p, err := parseRouteParam(strings.NewReplacer("{{", "{", "}}", "}").Replace(inner))
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", template, err)
		}
		key := strings.ToLower(p.name)
		if seen[key] {
			return nil, fmt.Errorf("route %q: parameter %q appears twice", template, p.name)
		}
		seen[key] = true
		if p.catchAll && i != len(parts)-1 {
			return nil, fmt.Errorf("route %q: catch-all parameter %q must be the last segment", template, p.name)
		}
		if optionalSeen && !p.optional && !p.hasDefault && !p.catchAll {
			return nil, fmt.Errorf("route %q: required parameter %q follows an optional parameter", template, p.name)
		}
		if p.optional || p.hasDefault {
			optionalSeen = true
		}
		r.segments = append(r.segments, routeSegment{param: p})
	}
	return r, nil
}

var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func parseRouteParam(text string) (*routeParam, error) {
	p := &routeParam{}
	if strings.HasPrefix(text, "**") {
		p.catchAll, text = true, text[2:]
	} else if strings.HasPrefix(text, "*") {
		p.catchAll, text = true, text[1:]
	}
	if name, def, ok := strings.Cut(text, "="); ok {
		p.hasDefault, p.def, text = true, def, name
	}
	if strings.HasSuffix(text, "?") {
		p.optional, text = true, strings.TrimSuffix(text, "?")
	}
	name, rest, _ := strings.Cut(text, ":")
	if !paramName.MatchString(name) {
		return nil, fmt.Errorf("parameter name %q is not valid", name)
	}
	p.name = name
	if p.optional && p.hasDefault {
		return nil, fmt.Errorf("parameter %q cannot be both optional and have a default", name)
	}
	for rest != "" {
		var c string
		c, rest = cutConstraint(rest)
		rc, err := parseConstraint(c)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", name, err)
		}
		p.constraints = append(p.constraints, rc)
	}
	return p, nil
}

// cutConstraint splits "int:min(1)" into "int" and "min(1)", keeping colons
// inside parentheses (as in regex(...)) in the first part.
func cutConstraint(s string) (string, string) {
	depth := 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ':':
			if depth == 0 {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}

func parseConstraint(text string) (routeConstraint, error) {
	name, arg := text, ""
	if i := strings.IndexByte(text, '('); i >= 0 {
		if !strings.HasSuffix(text, ")") {
			return routeConstraint{}, fmt.Errorf("constraint %q: missing )", text)
		}
		name, arg = text[:i], text[i+1:len(text)-1]
	}
	c := routeConstraint{text: text}
	ints := func(n int) ([]int64, error) {
		fields := strings.Split(arg, ",")
		if arg == "" || len(fields) != n {
			return nil, fmt.Errorf("constraint %q: want %d numeric argument(s)", text, n)
		}
		out := make([]int64, n)
		for i, f := range fields {
			v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("constraint %q: %q is not a number", text, f)
			}
			out[i] = v
		}
		return out, nil
	}
	integer := func(s string) (int64, bool) {
		v, err := strconv.ParseInt(s, 10, 64)
		return v, err == nil
	}
	switch strings.ToLower(name) {
	case "int":
		c.match = func(s string) bool { _, err := strconv.ParseInt(s, 10, 32); return err == nil }
	case "long":
		c.match = func(s string) bool { _, ok := integer(s); return ok }
	case "bool":
		c.match = func(s string) bool { return strings.EqualFold(s, "true") || strings.EqualFold(s, "false") }
	case "double", "float", "decimal":
		c.match = func(s string) bool { _, err := strconv.ParseFloat(s, 64); return err == nil }
	case "guid":
		c.match = isGUID
	case "alpha":
		c.match = func(s string) bool { return alpha.MatchString(s) }
	case "datetime":
		c.match = func(s string) bool {
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
				if _, err := time.Parse(layout, s); err == nil {
					return true
				}
			}
			return false
		}
	case "min", "max":
		n, err := ints(1)
		if err != nil {
			return c, err
		}
		isMin := strings.EqualFold(name, "min")
		c.match = func(s string) bool {
			v, ok := integer(s)
			return ok && ((isMin && v >= n[0]) || (!isMin && v <= n[0]))
		}
	case "range":
		n, err := ints(2)
		if err != nil {
			return c, err
		}
		c.match = func(s string) bool { v, ok := integer(s); return ok && v >= n[0] && v <= n[1] }
	case "length":
		n, err := ints(1)
		if err != nil {
			if n, err = ints(2); err != nil {
				return c, fmt.Errorf("constraint %q: want length(n) or length(min,max)", text)
			}
			c.match = func(s string) bool { l := int64(len([]rune(s))); return l >= n[0] && l <= n[1] }
			return c, nil
		}
		c.match = func(s string) bool { return int64(len([]rune(s))) == n[0] }
	case "minlength", "maxlength":
		n, err := ints(1)
		if err != nil {
			return c, err
		}
		isMin := strings.EqualFold(name, "minlength")
		c.match = func(s string) bool {
			l := int64(len([]rune(s)))
			return (isMin && l >= n[0]) || (!isMin && l <= n[0])
		}
	case "regex":
		re, err := regexp.Compile("(?i)" + arg)
		if err != nil {
			return c, fmt.Errorf("constraint %q: %w", text, err)
		}
		c.match = re.MatchString
	default:
		return c, fmt.Errorf("unknown constraint %q", text)
	}
	return c, nil
}

var (
	alpha    = regexp.MustCompile(`^[A-Za-z]+$`)
	guidForm = regexp.MustCompile(`^[{(]?[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}[})]?$`)
)

func isGUID(s string) bool { return guidForm.MatchString(s) }

// Template returns the route template as written (without a leading slash).
func (r *Route) Template() string { return r.template }

// Match matches an escaped request path relative to the route prefix (for
// example "agencies/42") and returns the route values. Absent optional
// parameters are left out; parameters with a default get the default.
func (r *Route) Match(escapedPath string) (map[string]string, bool) {
	p := strings.Trim(escapedPath, "/")
	var parts []string
	if p != "" {
		parts = strings.Split(p, "/")
	}
	values := map[string]string{}
	j := 0
	for _, seg := range r.segments {
		if seg.param == nil {
			if j >= len(parts) {
				return nil, false
			}
			v, err := url.PathUnescape(parts[j])
			if err != nil || !strings.EqualFold(v, seg.literal) {
				return nil, false
			}
			j++
			continue
		}
		prm := seg.param
		var v string
		switch {
		case prm.catchAll:
			if j < len(parts) {
				rest, err := url.PathUnescape(strings.Join(parts[j:], "/"))
				if err != nil {
					return nil, false
				}
				v, j = rest, len(parts)
			}
		case j < len(parts):
			var err error
			if v, err = url.PathUnescape(parts[j]); err != nil || v == "" {
				return nil, false
			}
			j++
		}
		if v == "" {
			switch {
			case prm.hasDefault:
				values[prm.name] = prm.def
			case prm.optional || prm.catchAll:
			default:
				return nil, false
			}
			continue
		}
		for _, c := range prm.constraints {
			if !c.match(v) {
				return nil, false
			}
		}
		values[prm.name] = v
	}
	if j != len(parts) {
		return nil, false
	}
	return values, true
}

// precedence orders routes as ASP.NET Core does, roughly: segment by
// segment, a literal beats a constrained parameter, which beats a plain
// parameter, which beats an optional one, which beats a catch-all. Lower
// sorts first.
func (r *Route) precedence() []int {
	out := make([]int, 0, len(r.segments))
	for _, s := range r.segments {
		switch p := s.param; {
		case p == nil:
			out = append(out, 1)
		case p.catchAll:
			out = append(out, 5)
		case p.optional || p.hasDefault:
			out = append(out, 4)
		case len(p.constraints) > 0:
			out = append(out, 2)
		default:
			out = append(out, 3)
		}
	}
	return out
}

func comparePrecedence(a, b []int) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] - b[i]
		}
	}
	// A longer template is more specific than its own prefix.
	return len(b) - len(a)
}
