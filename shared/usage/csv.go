package usage

import (
	"bufio"
	"encoding/csv"
	"io"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// csvWriter writes rows of safe cells and keeps the first error.
type csvWriter struct {
	bw  *bufio.Writer
	w   *csv.Writer
	err error
}

func newCSV(w io.Writer) *csvWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("\ufeff")
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	return &csvWriter{bw: bw, w: cw}
}

func (c *csvWriter) row(cells ...string) {
	if c.err != nil {
		return
	}
	for i, s := range cells {
		cells[i] = licensing.FormulaSafe(s)
	}
	c.err = c.w.Write(cells)
}

func (c *csvWriter) flush() error {
	c.w.Flush()
	if c.err == nil {
		c.err = c.w.Error()
	}
	if c.err == nil {
		c.err = c.bw.Flush()
	}
	return c.err
}
