package xlsx

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// An XLSX file is a zip archive of XML parts. The reader inflates only the
// parts it reads (the package and workbook relationships, the workbook, the
// styles, the shared strings and the one worksheet it imports), each through
// an xmlPart: the part may not unzip to more than Limits.MaxPartBytes (a
// larger declared size is refused before anything is inflated, and the
// bytes actually inflated are counted as well), no single XML token (a
// cell's text, a tag with its attributes, a comment) may take more than
// Limits.MaxCellBytes, elements may not nest more than maxDepth deep, and a
// document type or entity declaration is refused: Excel never writes one,
// and entities are how a small file expands. Reading therefore never holds
// more than MaxCellBytes of a part, whatever the part holds.

// partTooLarge is the error of a part that unzips to more than max bytes.
type partTooLarge struct {
	part string
	max  int64
}

func (e *partTooLarge) Error() string {
	return fmt.Sprintf("xlsx: %s unzips to more than %d bytes", e.part, e.max)
}

// tokenTooLarge is the error of an XML token longer than max bytes.
type tokenTooLarge struct {
	part string
	max  int
}

func (e *tokenTooLarge) Error() string {
	return fmt.Sprintf("xlsx: %s has an XML token longer than %d bytes", e.part, e.max)
}

// errDocumentType is the error of a part that declares a document type or
// entities.
var errDocumentType = errors.New("xlsx: the XML declares a document type or entities")

// errMissingPart is the error of a part the workbook needs and lacks.
var errMissingPart = errors.New("xlsx: a part of the workbook is missing")

// guardedReader inflates one part for an XML decoder, byte by byte (the
// decoder reads through io.ByteReader when it can), counting the bytes of
// the part and of the token being decoded.
type guardedReader struct {
	part     string
	r        *bufio.Reader
	n, max   int64
	token    int
	maxToken int
}

func (g *guardedReader) ReadByte() (byte, error) {
	c, err := g.r.ReadByte()
	if err != nil {
		return 0, err
	}
	g.n++
	g.token++
	if g.n > g.max {
		return 0, &partTooLarge{part: g.part, max: g.max}
	}
	if g.token > g.maxToken {
		return 0, &tokenTooLarge{part: g.part, max: g.maxToken}
	}
	return c, nil
}

// Read is there for io.Reader; the decoder uses ReadByte.
func (g *guardedReader) Read(p []byte) (int, error) {
	for i := range p {
		c, err := g.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = c
	}
	return len(p), nil
}

// xmlPart decodes one part of the package.
type xmlPart struct {
	ctx    context.Context
	tokens int
	name   string
	rc     io.ReadCloser
	g      *guardedReader
	d      *xml.Decoder
	open   []xml.Name // the elements open, outermost first
}

// openPart starts decoding f within l, until ctx is done.
func openPart(ctx context.Context, f *zip.File, l Limits) (*xmlPart, error) {
	if f.UncompressedSize64 > uint64(l.MaxPartBytes) {
		return nil, &partTooLarge{part: f.Name, max: l.MaxPartBytes}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	g := &guardedReader{part: f.Name, r: bufio.NewReader(rc), max: l.MaxPartBytes, maxToken: l.MaxCellBytes}
	d := xml.NewDecoder(g)
	d.CharsetReader = func(charset string, _ io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("xlsx: %s is in the encoding %q, not UTF-8", f.Name, charset)
	}
	return &xmlPart{ctx: ctx, name: f.Name, rc: rc, g: g, d: d}, nil
}

// maxDepth bounds how deeply elements nest (SpreadsheetML nests about ten
// deep).
const maxDepth = 100

// errTooDeep is the error of elements nested beyond maxDepth.
var errTooDeep = errors.New("xlsx: elements nest too deeply")

// next returns the next token: start and end elements (callers match them
// by local name, as the prefixes of a part vary), text, comments and
// processing instructions; io.EOF at the end. Each end element must close
// the element open last, and every element must be closed at the end. The
// token's data is valid until the next call.
func (p *xmlPart) next() (xml.Token, error) {
	if p.tokens++; p.tokens%(1<<16) == 0 {
		if err := p.ctx.Err(); err != nil {
			return nil, err
		}
	}
	p.g.token = 0
	tok, err := p.d.RawToken()
	if err == io.EOF && len(p.open) > 0 {
		return nil, fmt.Errorf("xlsx: %s ends inside <%s>", p.name, p.open[len(p.open)-1].Local)
	}
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if len(p.open) == maxDepth {
			return nil, errTooDeep
		}
		p.open = append(p.open, t.Name)
	case xml.EndElement:
		if n := len(p.open); n == 0 || p.open[n-1] != t.Name {
			return nil, fmt.Errorf("xlsx: %s has </%s> where no such element is open", p.name, t.Name.Local)
		}
		p.open = p.open[:len(p.open)-1]
	case xml.Directive:
		return nil, errDocumentType
	}
	return tok, nil
}

// errDone ends each early, without an error.
var errDone = errors.New("xlsx: the rest of the part is not needed")

// each calls fn with every token to the end of the part; fn returning
// errDone ends it early.
func (p *xmlPart) each(fn func(tok xml.Token) error) error {
	for {
		tok, err := p.next()
		if err == io.EOF {
			return nil
		}
		if err == nil {
			err = fn(tok)
		}
		if errors.Is(err, errDone) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// inside calls fn (when not nil) with every token inside the element whose
// start was just read, and reads past its end. fn may read further tokens
// itself.
func (p *xmlPart) inside(fn func(tok xml.Token) error) error {
	depth := len(p.open)
	for {
		tok, err := p.next()
		if err != nil {
			return err
		}
		if len(p.open) < depth {
			return nil
		}
		if fn != nil {
			if err := fn(tok); err != nil {
				return err
			}
		}
	}
}

// skip reads past the end of the element whose start was just read.
func (p *xmlPart) skip() error { return p.inside(nil) }

func (p *xmlPart) close() error { return p.rc.Close() }

// attr returns the value of the attribute local (any prefix).
func attr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// partError turns an error met reading a part into what the caller is
// told: TooLarge for a part or token over the limits, Invalid for a
// document type or a part that is not well-formed XML, Unavailable for a
// cancelled request. what describes the part ("the worksheet").
func partError(err error, what string, l Limits) error {
	var big *partTooLarge
	var tok *tokenTooLarge
	switch {
	case errors.As(err, &big):
		return licensing.Wrap(op, licensing.TooLarge, fmt.Sprintf(
			"The spreadsheet expands to more than %d MB when unzipped (%s); save the sheet to import as .csv, or split it into smaller files, and upload that.",
			l.MaxPartBytes>>20, what), err)
	case errors.As(err, &tok):
		return licensing.Wrap(op, licensing.TooLarge, fmt.Sprintf(
			"The spreadsheet expands to more than %s in a single cell or tag (%s), and a cell holds at most 32,767 characters; save it again from Excel, or as .csv, and upload that.",
			sizeText(l.MaxCellBytes), what), err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return licensing.Wrap(op, licensing.Unavailable, "Reading the workbook took too long; try again.", err)
	case errors.Is(err, errDocumentType):
		return licensing.Wrap(op, licensing.Invalid, fmt.Sprintf(
			"The file is not a plain spreadsheet: %s declares a document type or entities (<!DOCTYPE, <!ENTITY), which spreadsheet programs never write; open it in Excel and save it again as .xlsx, or as .csv.",
			what), err)
	case errors.As(err, new(*licensing.Error)):
		return err
	}
	return licensing.Wrap(op, licensing.Invalid, fmt.Sprintf(
		"The file is not a readable .xlsx workbook (%s could not be read); save it again from Excel, or as .csv.", what), err)
}

// sizeText says n bytes in MB, or in KB under a megabyte.
func sizeText(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", max(n>>10, 1))
}
