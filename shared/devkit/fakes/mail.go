package fakes

import (
	"context"
	"sort"
	"sync"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

var _ licensing.Mailer = (*Mailbox)(nil)

// Mailbox records sent mail; sending the same ID twice keeps one copy, as
// the outbox does. Send is safe for concurrent use; read Sent and Sends
// when no send is under way.
type Mailbox struct {
	mu sync.Mutex
	// Sent holds the last message sent under each ID.
	Sent map[string]licensing.MailMessage
	// Sends counts the successful sends, repeats included.
	Sends int
	// Fail, when set, is what every send returns.
	Fail error
}

// Send records msg, or returns Fail.
func (m *Mailbox) Send(_ context.Context, msg licensing.MailMessage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return m.Fail
	}
	if m.Sent == nil {
		m.Sent = map[string]licensing.MailMessage{}
	}
	m.Sent[msg.ID] = msg
	m.Sends++
	return nil
}

// Subjects returns the subjects of the mail sent, sorted.
func (m *Mailbox) Subjects() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, msg := range m.Sent {
		out = append(out, msg.Subject)
	}
	sort.Strings(out)
	return out
}
