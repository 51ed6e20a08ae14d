package licensing

import (
	"context"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Mailer sends mail. Implementations: the outbox (each message as an .eml
// file in Blob Storage, for local runs, the demo and tests) and Microsoft
// Graph sendMail.
type Mailer interface {
	// Send delivers m. Sending a message with the same ID again must not
	// deliver it twice where the mailer can tell (the outbox overwrites the
	// same file). Errors: Unavailable (try again), Invalid (the message
	// cannot be sent as it is), Forbidden (the app may not send as the
	// configured sender).
	Send(ctx context.Context, m MailMessage) error
}

// MailMessage is one message. The sender is the mailer's configured one.
type MailMessage struct {
	// ID is stable for one notification (the same event gives the same
	// ID), so a retried step does not mail twice.
	ID string
	// Date is when the event happened (not when a retry sent it).
	Date    time.Time
	To      []string
	Cc      []string
	Subject string
	// Text is the plain-text body; HTML, when set, is an alternative.
	Text        string
	HTML        string
	Attachments []Attachment
}

// Attachment is a file sent with a message. Open is called when the mailer
// needs the content, possibly more than once; Size is its length in bytes.
type Attachment struct {
	Name        string
	ContentType string
	Size        int64
	Open        func(ctx context.Context) (io.ReadCloser, error)
}

// AttachmentName makes a file name safe to put in a message: the last path
// element only, without control or bidirectional-override characters, at
// most 255 bytes; "attachment" when nothing is left.
func AttachmentName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.Trim(name, " .")
	for len(name) > 255 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" {
		return "attachment"
	}
	return name
}
