// Package outbox is a licensing.Mailer that delivers nothing: it writes each
// message as a complete RFC 5322 MIME message (an .eml file any mail client
// opens) to a licensing.FileStore, at outbox/{yyyy-mm-dd}/{message-id}.eml.
// It serves local runs, the demo and tests (MAIL_MODE=outbox).
//
// The date in the name is the message's Date in UTC, not the time of
// writing, so a retried notification overwrites its own file instead of
// adding a second one. Every message has a text/plain part and, as its
// alternative, text/html (MailMessage.HTMLBody), and carries Auto-Submitted:
// auto-generated (RFC 3834), so that out-of-office replies do not answer it.
// Attachments are streamed from Attachment.Open into the file, a large one
// never held in memory: base64, except an attached message (message/rfc822),
// which RFC 2046 allows only as 7bit or 8bit: its lines are written as they
// are, with CRLF line ends.
package outbox

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Prefix is the folder of the outbox in the file store.
const Prefix = "outbox/"

// DefaultDomain is the right-hand side of the Message-ID header.
const DefaultDomain = "licensing.local"

// maxIDLen bounds a message id used as it is in a file name.
const maxIDLen = 100

// Mailer writes messages to a file store. It is safe for concurrent use.
type Mailer struct {
	files  licensing.FileStore
	sender string
	from   *mail.Address
	domain string
	log    *slog.Logger
}

var _ licensing.Mailer = (*Mailer)(nil)

// Option configures a Mailer.
type Option func(*Mailer)

// WithLogger sets the logger (slog.Default() otherwise).
func WithLogger(l *slog.Logger) Option { return func(m *Mailer) { m.log = l } }

// WithDomain sets the domain of Message-ID headers (DefaultDomain otherwise).
func WithDomain(d string) Option { return func(m *Mailer) { m.domain = d } }

// New returns a Mailer writing to files, with sender (MAIL_SENDER) in the
// From header. A sender that is not an address makes every Send fail with
// Invalid.
func New(files licensing.FileStore, sender string, opts ...Option) *Mailer {
	m := &Mailer{files: files, sender: sender, domain: DefaultDomain, log: slog.Default()}
	for _, o := range opts {
		o(m)
	}
	if a, err := licensing.ParseAddress(sender); err == nil {
		m.from = a
	}
	if !validDomain.MatchString(m.domain) {
		m.domain = DefaultDomain
	}
	return m
}

var (
	safeID      = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*$`)
	validDomain = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$`)
)

// FileName returns where Send writes m: outbox/{yyyy-mm-dd}/{id}.eml, the
// date being m.Date in UTC and id a file-name-safe form of m.ID (m.ID
// itself when it is at most 100 of [A-Za-z0-9._-] not starting with a dot,
// else a SHA-256 of it).
func FileName(m licensing.MailMessage) string {
	return Prefix + m.Date.UTC().Format("2006-01-02") + "/" + fileID(m.ID) + ".eml"
}

func fileID(id string) string {
	if len(id) <= maxIDLen && safeID.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256-" + hex.EncodeToString(sum[:])
}

// Send implements licensing.Mailer: it writes m to FileName(m), replacing
// what an earlier Send of the same message wrote. Invalid when m lacks an
// ID, a date or a recipient, when an address does not parse, or when the
// subject or an address holds a line break (header injection); a failure of
// the file store or of an attachment's content keeps its code.
func (m *Mailer) Send(ctx context.Context, msg licensing.MailMessage) error {
	const op = "outbox.send"
	h, err := m.header(op, msg)
	if err != nil {
		return err
	}
	msg.HTML = msg.HTMLBody()
	name := FileName(msg)
	fw, err := m.files.Create(ctx, name, "message/rfc822")
	if err != nil {
		return wrap(op, "The outbox file could not be created.", err)
	}
	bw := bufio.NewWriterSize(fw, 64<<10)
	n, err := m.write(ctx, bw, h, msg)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		fw.Abort(err)
		return wrap(op, "The message could not be written to the outbox.", err)
	}
	if err := fw.Close(); err != nil {
		return wrap(op, "The message could not be written to the outbox.", err)
	}
	m.log.InfoContext(ctx, "outbox: message written", "id", msg.ID, "file", name,
		"recipients", len(msg.To)+len(msg.Cc), "attachments", len(msg.Attachments), "attachmentBytes", n)
	return nil
}

// wrap keeps the code of a domain error (a store's Unavailable, an
// attachment's NotFound) and makes anything else Internal.
func wrap(op, msg string, err error) error {
	var le *licensing.Error
	switch {
	case errors.As(err, &le):
		return licensing.Wrap(op, licensing.ErrorCode(err), licensing.ErrorMessage(err), err)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return licensing.Wrap(op, licensing.Unavailable, "Writing the message was cancelled or timed out; try again.", err)
	}
	return licensing.Wrap(op, licensing.Internal, msg, err)
}

// header validates msg and returns its top-level header lines, in order.
func (m *Mailer) header(op string, msg licensing.MailMessage) ([][2]string, error) {
	if m.from == nil {
		return nil, licensing.Errorf(op, licensing.Invalid, "The sender %q is not an email address; set MAIL_SENDER to the address mail is sent from.", m.sender)
	}
	var fields []licensing.FieldError
	bad := func(field, format string, args ...any) {
		fields = append(fields, licensing.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if msg.ID == "" {
		bad("id", "is required: it names the message and keeps a retry from writing it twice")
	}
	if msg.Date.IsZero() {
		bad("date", "is required")
	}
	if licensing.HasHeaderControl(msg.Subject) {
		bad("subject", "must not contain line breaks or control characters")
	}
	var lists [2][]string
	for i, in := range [][]string{msg.To, msg.Cc} {
		field := [...]string{"to", "cc"}[i]
		for j, s := range in {
			a, err := licensing.ParseAddress(s)
			if err != nil {
				bad(fmt.Sprintf("%s[%d]", field, j), "%v", err)
				continue
			}
			lists[i] = append(lists[i], a.String())
		}
	}
	if len(msg.To)+len(msg.Cc) == 0 {
		bad("to", "at least one recipient is required")
	}
	for i, a := range msg.Attachments {
		if a.Open == nil {
			bad(fmt.Sprintf("attachments[%d]", i), "has no content")
		}
	}
	if len(fields) > 0 {
		return nil, &licensing.Error{Op: op, Code: licensing.Invalid, Message: "The message cannot be sent as it is; see fields.", Fields: fields}
	}
	h := [][2]string{
		{"From", m.from.String()},
	}
	if len(lists[0]) > 0 {
		h = append(h, [2]string{"To", strings.Join(lists[0], ", ")})
	}
	if len(lists[1]) > 0 {
		h = append(h, [2]string{"Cc", strings.Join(lists[1], ", ")})
	}
	h = append(h,
		[2]string{"Subject", encodeWords(msg.Subject)},
		[2]string{"Date", msg.Date.Format(time.RFC1123Z)},
		[2]string{"Message-ID", "<" + fileID(msg.ID) + "@" + m.domain + ">"},
		[2]string{"MIME-Version", "1.0"},
		[2]string{"Auto-Submitted", "auto-generated"},
		[2]string{"X-Auto-Response-Suppress", "All"},
	)
	return h, nil
}

// encodeWords returns s as a header value: itself when it is printable
// ASCII that a reader would not take for an encoded-word, else RFC 2047
// B encoded-words of whole UTF-8 characters, at most 75 bytes each.
func encodeWords(s string) string {
	plain := !strings.Contains(s, "=?") && strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r > '~' }) < 0
	if plain {
		return s
	}
	const maxChunk = 45 // 60 bytes of base64 in a 72-byte encoded-word
	var words []string
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > maxChunk {
				break
			}
			n += size
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// write writes the message to w and returns the attachment bytes written.
func (m *Mailer) write(ctx context.Context, w io.Writer, h [][2]string, msg licensing.MailMessage) (int64, error) {
	for _, kv := range h {
		if err := writeHeader(w, kv[0], kv[1]); err != nil {
			return 0, err
		}
	}
	// top writes the header of the message's single top-level part.
	top := func(ph textproto.MIMEHeader) (io.Writer, error) {
		for _, k := range []string{"Content-Type", "Content-Transfer-Encoding"} {
			if v := ph.Get(k); v != "" {
				if err := writeHeader(w, k, v); err != nil {
					return nil, err
				}
			}
		}
		_, err := io.WriteString(w, "\r\n")
		return w, err
	}
	if len(msg.Attachments) == 0 {
		return 0, writeBody(top, msg)
	}
	// A multipart entity holding an 8bit part is 8bit itself (RFC 2045).
	encs := make([]partEncoding, len(msg.Attachments))
	mixed := textproto.MIMEHeader{}
	for i, a := range msg.Attachments {
		e, err := encodingOf(ctx, a)
		if err != nil {
			return 0, err
		}
		encs[i] = e
		if e.cte == "8bit" {
			mixed.Set("Content-Transfer-Encoding", "8bit")
		}
	}
	mw := multipart.NewWriter(w)
	mixed.Set("Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": mw.Boundary()}))
	if _, err := top(mixed); err != nil {
		return 0, err
	}
	if err := writeBody(mw.CreatePart, msg); err != nil {
		return 0, err
	}
	var total int64
	for i, a := range msg.Attachments {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := m.writeAttachment(ctx, mw, a, encs[i])
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, mw.Close()
}

// writeBody writes the text of msg as one part, made by create: text/plain,
// or multipart/alternative of text/plain and text/html when msg has HTML.
func writeBody(create func(textproto.MIMEHeader) (io.Writer, error), msg licensing.MailMessage) error {
	if msg.HTML == "" {
		w, err := create(textHeader("text/plain"))
		if err != nil {
			return err
		}
		return writeQP(w, msg.Text)
	}
	alt := multipart.NewWriter(io.Discard)
	w, err := create(textproto.MIMEHeader{"Content-Type": {mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": alt.Boundary()})}})
	if err != nil {
		return err
	}
	mw := multipart.NewWriter(w)
	if err := mw.SetBoundary(alt.Boundary()); err != nil {
		return err
	}
	for _, part := range []struct{ ct, s string }{{"text/plain", msg.Text}, {"text/html", msg.HTML}} {
		p, err := mw.CreatePart(textHeader(part.ct))
		if err != nil {
			return err
		}
		if err := writeQP(p, part.s); err != nil {
			return err
		}
	}
	return mw.Close()
}

// textHeader is the header of a UTF-8 quoted-printable text part.
func textHeader(ct string) textproto.MIMEHeader {
	return textproto.MIMEHeader{
		"Content-Type":              {mime.FormatMediaType(ct, map[string]string{"charset": "utf-8"})},
		"Content-Transfer-Encoding": {"quoted-printable"},
	}
}

func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, s); err != nil {
		return err
	}
	return qp.Close()
}

// partEncoding is how an attachment is written: its media type and
// Content-Transfer-Encoding.
type partEncoding struct {
	mediaType string
	params    map[string]string
	cte       string
}

// encodingOf decides how a is written: base64, except a message/rfc822,
// which RFC 2046 allows only as 7bit, 8bit or binary. Its content is read
// once to choose: 7bit when it is ASCII, 8bit when it holds other bytes;
// content no 7bit or 8bit part can carry (a NUL, a line over 998 bytes) is
// no RFC 5322 message and goes as application/octet-stream in base64,
// under its own file name.
func encodingOf(ctx context.Context, a licensing.Attachment) (partEncoding, error) {
	mt, params, _ := mime.ParseMediaType(contentType(a.ContentType))
	e := partEncoding{mediaType: mt, params: params, cte: "base64"}
	if mt != "message/rfc822" {
		return e, nil
	}
	rc, err := a.Open(ctx)
	if err != nil {
		return e, err
	}
	defer rc.Close()
	c := &canonWriter{w: io.Discard}
	if _, err := io.Copy(c, rc); err != nil {
		return e, err
	}
	switch {
	case c.invalid:
		e.mediaType, e.params = "application/octet-stream", map[string]string{}
	case c.eightBit:
		e.cte = "8bit"
	default:
		e.cte = "7bit"
	}
	return e, nil
}

// writeAttachment writes a as a part encoded as e says, streaming its
// content.
func (m *Mailer) writeAttachment(ctx context.Context, mw *multipart.Writer, a licensing.Attachment, e partEncoding) (int64, error) {
	name := licensing.AttachmentName(a.Name)
	e.params["name"] = name
	p, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {mime.FormatMediaType(e.mediaType, e.params)},
		"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": name})},
		"Content-Transfer-Encoding": {e.cte},
	})
	if err != nil {
		return 0, err
	}
	rc, err := a.Open(ctx)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	var enc io.WriteCloser = base64.NewEncoder(base64.StdEncoding, &lineWriter{w: p, max: 76})
	if e.cte != "base64" {
		enc = &canonWriter{w: p}
	}
	n, err := io.Copy(enc, rc)
	if err != nil {
		return n, err
	}
	if err := enc.Close(); err != nil {
		return n, err
	}
	if a.Size != n {
		m.log.WarnContext(ctx, "outbox: attachment size differs from its content", "name", name, "size", a.Size, "content", n)
	}
	return n, nil
}

// canonWriter writes text with CRLF line ends (a lone CR or LF becomes
// CRLF), as a 7bit or 8bit body must have them, and notes what such a body
// may not hold.
type canonWriter struct {
	w    io.Writer
	cr   bool // the last byte was a CR
	line int  // bytes of the current line
	// eightBit: a byte over 127; invalid: a NUL, or a line over 998 bytes.
	eightBit, invalid bool
	buf               []byte
}

func (c *canonWriter) Write(p []byte) (int, error) {
	c.buf = c.buf[:0]
	for _, b := range p {
		switch {
		case b == '\r':
			c.buf = append(c.buf, crlf...)
			c.cr, c.line = true, 0
			continue
		case b == '\n':
			if !c.cr {
				c.buf = append(c.buf, crlf...)
			}
			c.cr, c.line = false, 0
			continue
		case b == 0:
			c.invalid = true
		case b > 127:
			c.eightBit = true
		}
		c.cr = false
		c.line++
		if c.line > 998 {
			c.invalid = true
		}
		c.buf = append(c.buf, b)
	}
	if _, err := c.w.Write(c.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close implements io.Closer; there is nothing to flush.
func (c *canonWriter) Close() error { return nil }

// lineWriter breaks what it writes into CRLF-terminated lines of max bytes.
type lineWriter struct {
	w   io.Writer
	max int
	col int
}

var crlf = []byte("\r\n")

func (l *lineWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if l.col == l.max {
			if _, err := l.w.Write(crlf); err != nil {
				return written, err
			}
			l.col = 0
		}
		n := min(len(p), l.max-l.col)
		k, err := l.w.Write(p[:n])
		written += k
		l.col += k
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// writeHeader writes one header line, folded at spaces so that lines stay
// near 78 characters where the value allows.
func writeHeader(w io.Writer, name, value string) error {
	line := name + ":"
	var b strings.Builder
	for _, word := range strings.Split(value, " ") {
		if len(line)+1+len(word) > 76 && len(line) > len(name)+1 {
			b.WriteString(line)
			b.WriteString("\r\n")
			line = ""
		}
		line += " " + word
	}
	b.WriteString(line)
	b.WriteString("\r\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// contentType returns ct normalised, or application/octet-stream when it is
// not a media type.
func contentType(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !strings.Contains(mt, "/") {
		return "application/octet-stream"
	}
	delete(params, "name")
	if s := mime.FormatMediaType(mt, params); s != "" {
		return s
	}
	return mt
}
