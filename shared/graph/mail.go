package graph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Mail permissions, named in Forbidden messages.
const (
	permMailSend      = "Mail.Send"
	permMailReadWrite = "Mail.ReadWrite"
)

// Limits of Graph's mail API.
const (
	// inlineLimit bounds the attachments of one sendMail, and one
	// attachment posted to a draft: Graph takes files under 3 MB inline.
	inlineLimit = 3 << 20
	// maxRequest bounds the JSON of one request (Graph: 4 MB).
	maxRequest = 4 << 20
	// maxAttachment is the largest attachment an upload session takes.
	maxAttachment = 150 << 20
	// chunkUnit: every chunk but the last is a multiple of it.
	chunkUnit = 320 << 10
	// defaultChunk is the largest multiple of chunkUnit under Graph's 4 MB
	// per PUT.
	defaultChunk = 12 * chunkUnit
	// messageIDHeader carries MailMessage.ID in the sent message, so that a
	// message in a mailbox can be traced to the notification that sent it.
	messageIDHeader = "X-Licensing-Message-Id"
	// autoResponseHeader: All asks Exchange and Outlook to send no
	// out-of-office or other automatic reply. Graph takes only headers
	// whose names start with "x-", so Auto-Submitted (RFC 3834), which the
	// outbox writes, cannot be set here.
	autoResponseHeader = "X-Auto-Response-Suppress"
)

// mailer sends mail through Graph as one mailbox.
type mailer struct {
	c      *Client
	sender string
	// upload PUTs chunks to upload URLs: a plain client, without Graph's
	// middleware or authentication (the URL is pre-authenticated and a
	// bearer token must not leave for it).
	upload *http.Client
	// chunk is the size of one PUT, a multiple of chunkUnit.
	chunk int
}

var _ licensing.Mailer = (*mailer)(nil)

// Mailer returns a licensing.Mailer that sends as sender (the user principal
// name or object id of an Exchange Online mailbox; MAIL_SENDER).
//
// A message whose attachments total under 3 MB, and whose request stays
// under 4 MB, goes in one POST /users/{sender}/sendMail and is saved to Sent
// Items. A larger one is built as a draft: POST /users/{sender}/messages,
// each attachment under 3 MB posted to it and each larger one uploaded
// through an upload session in chunks read from Attachment.Open as they are
// sent (a 50 MB attachment is never held in memory), then POST
// .../messages/{id}/send; a draft left by a failure is deleted.
//
// The app needs the Mail.Send application permission, and Mail.ReadWrite for
// the draft route; Exchange RBAC for Applications (or an application access
// policy) should limit it to the sender's mailbox. Graph cannot tell that a
// message was sent before: sending the same MailMessage twice delivers it
// twice (its ID travels in the X-Licensing-Message-Id header). So a send is
// retried only when Graph said it did not act (429, or 503 with
// Retry-After); a failure once Graph may have acted is Ambiguous, and
// callers claim each mail as an effect (licensing.Effects) before sending.
func (c *Client) Mailer(sender string) licensing.Mailer {
	parent, timeout := c.transport()
	return &mailer{
		c:      c,
		sender: strings.TrimSpace(sender),
		upload: &http.Client{
			Transport: &countingTransport{next: parent, total: &c.requests},
			Timeout:   timeout,
			// An upload URL answers; it does not redirect. Following a
			// redirect would resend the chunk somewhere unknown.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		chunk: defaultChunk,
	}
}

// noSDKRetry turns the SDK's retry handler off for one request. The SDK
// retries a POST with its gzip header but the uncompressed body (the
// compression handler changes a copy of the request), which Graph cannot
// read; call retries mail requests instead, from the start.
var noSDKRetry = []abstractions.RequestOption{&khttp.RetryHandlerOptions{
	ShouldRetry: func(time.Duration, int, *http.Request, *http.Response) bool { return false },
}}

// outgoing is a validated message.
type outgoing struct {
	headerID string
	subject  string
	body     string
	to, cc   []*mail.Address
	atts     []licensing.Attachment
	total    int64
	// jsonSize estimates the JSON of the message without attachments.
	jsonSize int
}

// Send implements licensing.Mailer.
func (m *mailer) Send(ctx context.Context, msg licensing.MailMessage) error {
	const op = "graph.sendMail"
	o, err := m.prepare(op, msg)
	if err != nil {
		return err
	}
	var reqs atomic.Int64
	ctx = withCounter(ctx, &reqs)
	route := "sendMail"
	if o.inline() {
		err = m.sendInline(ctx, op, o)
	} else {
		route = "draft"
		err = m.sendDraft(ctx, op, o)
	}
	if err != nil {
		m.c.log.WarnContext(ctx, "graph: mail not sent", "id", msg.ID, "route", route, "requests", reqs.Load(), "error", err.Error())
		return err
	}
	m.c.log.InfoContext(ctx, "graph: mail sent", "id", msg.ID, "route", route,
		"recipients", len(o.to)+len(o.cc), "attachments", len(o.atts), "attachmentBytes", o.total, "requests", reqs.Load())
	return nil
}

// inline reports whether o fits in one sendMail request.
func (o *outgoing) inline() bool {
	if o.total >= inlineLimit {
		return false
	}
	size := o.jsonSize
	for _, a := range o.atts {
		size += attachmentJSONSize(a)
	}
	return size <= maxRequest
}

// attachmentJSONSize estimates the JSON of a as a fileAttachment.
func attachmentJSONSize(a licensing.Attachment) int {
	return int(base64Len(a.Size)) + jsonLen(a.Name) + jsonLen(a.ContentType) + 128
}

func base64Len(n int64) int64 { return (n + 2) / 3 * 4 }

// jsonLen is the length of s as a JSON string, escaped as the SDK does.
func jsonLen(s string) int {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return b.Len() - 1 // the newline Encode appends
}

// prepare validates msg: Invalid names every problem.
func (m *mailer) prepare(op string, msg licensing.MailMessage) (*outgoing, error) {
	var fields []licensing.FieldError
	bad := func(field, format string, args ...any) {
		fields = append(fields, licensing.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if m.sender == "" || licensing.HasHeaderControl(m.sender) || (!licensing.IsGUID(m.sender) && !licensing.IsBareAddress(m.sender)) {
		return nil, licensing.Errorf(op, licensing.Invalid, "The sender %q is not a mailbox address or user id; set MAIL_SENDER to the mailbox the app sends from.", m.sender)
	}
	o := &outgoing{subject: msg.Subject, headerID: headerSafe(msg.ID)}
	if licensing.HasHeaderControl(msg.Subject) {
		bad("subject", "must not contain line breaks or control characters")
	}
	for _, list := range []struct {
		name string
		in   []string
		out  *[]*mail.Address
	}{{"to", msg.To, &o.to}, {"cc", msg.Cc, &o.cc}} {
		for i, s := range list.in {
			a, err := licensing.ParseAddress(s)
			if err != nil {
				bad(fmt.Sprintf("%s[%d]", list.name, i), "%v", err)
				continue
			}
			*list.out = append(*list.out, a)
		}
	}
	if len(msg.To)+len(msg.Cc) == 0 {
		bad("to", "at least one recipient is required")
	}
	// A Graph message has one body: the HTML. Exchange Online writes the
	// MIME itself, with a text/plain alternative where the remote domain's
	// message format (Set-RemoteDomain -ContentType MimeHtmlText) says so.
	o.body = msg.HTMLBody()
	o.jsonSize = jsonLen(o.subject) + jsonLen(o.body) + jsonLen(o.headerID) + 512
	for _, a := range append(append([]*mail.Address(nil), o.to...), o.cc...) {
		o.jsonSize += jsonLen(a.Address) + jsonLen(a.Name) + 64
	}
	if o.jsonSize > maxRequest-inlineLimit/8 {
		bad("body", "the message text is too large for Graph (a request must stay under 4 MB); send the content as an attachment")
	}
	for i, a := range msg.Attachments {
		f := fmt.Sprintf("attachments[%d]", i)
		switch {
		case a.Open == nil:
			bad(f, "has no content")
		case a.Size < 0:
			bad(f+".size", "must not be negative")
		case a.Size > maxAttachment:
			bad(f+".size", "is %d bytes; Graph takes attachments up to 150 MB", a.Size)
		}
		a.Name = licensing.AttachmentName(a.Name)
		a.ContentType = contentType(a.ContentType)
		o.atts = append(o.atts, a)
		o.total += a.Size
	}
	if len(fields) > 0 {
		return nil, &licensing.Error{Op: op, Code: licensing.Invalid, Message: "The message cannot be sent as it is; see fields.", Fields: fields}
	}
	return o, nil
}

// headerSafe returns id as a header value: itself when it is short
// printable ASCII, else its SHA-256.
func headerSafe(id string) string {
	if id == "" {
		return ""
	}
	if len(id) <= 128 && strings.IndexFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) < 0 {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256-" + hex.EncodeToString(sum[:])
}

// contentType returns ct normalised, or application/octet-stream when it is
// not a media type.
func contentType(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !strings.Contains(mt, "/") {
		return "application/octet-stream"
	}
	if s := mime.FormatMediaType(mt, params); s != "" {
		return s
	}
	return mt
}

// message builds the Graph message of o, without attachments.
func (o *outgoing) message() *models.Message {
	msg := models.NewMessage()
	msg.SetSubject(&o.subject)
	body := models.NewItemBody()
	ct := models.HTML_BODYTYPE
	body.SetContentType(&ct)
	body.SetContent(&o.body)
	msg.SetBody(body)
	msg.SetToRecipients(recipients(o.to))
	if len(o.cc) > 0 {
		msg.SetCcRecipients(recipients(o.cc))
	}
	headers := []models.InternetMessageHeaderable{header(autoResponseHeader, "All")}
	if o.headerID != "" {
		headers = append(headers, header(messageIDHeader, o.headerID))
	}
	msg.SetInternetMessageHeaders(headers)
	return msg
}

func header(name, value string) models.InternetMessageHeaderable {
	h := models.NewInternetMessageHeader()
	h.SetName(&name)
	h.SetValue(&value)
	return h
}

func recipients(as []*mail.Address) []models.Recipientable {
	out := make([]models.Recipientable, 0, len(as))
	for _, a := range as {
		e := models.NewEmailAddress()
		addr := a.Address
		e.SetAddress(&addr)
		if a.Name != "" {
			name := a.Name
			e.SetName(&name)
		}
		r := models.NewRecipient()
		r.SetEmailAddress(e)
		out = append(out, r)
	}
	return out
}

// fileAttachment reads a (under inlineLimit) into a fileAttachment.
func fileAttachment(ctx context.Context, op string, a licensing.Attachment) (*models.FileAttachment, error) {
	rc, err := a.Open(ctx)
	if err != nil {
		return nil, attachmentError(op, a, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, a.Size+1))
	if err != nil {
		return nil, attachmentError(op, a, err)
	}
	if int64(len(b)) != a.Size {
		return nil, sizeMismatch(op, a)
	}
	fa := models.NewFileAttachment()
	name, ct := a.Name, a.ContentType
	fa.SetName(&name)
	fa.SetContentType(&ct)
	fa.SetContentBytes(b)
	return fa, nil
}

// attachmentError reports a failure to read an attachment's content,
// keeping its code when it has one.
func attachmentError(op string, a licensing.Attachment, err error) error {
	var le *licensing.Error
	if errors.As(err, &le) {
		return licensing.Wrap(op, licensing.ErrorCode(err), licensing.ErrorMessage(err), err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return licensing.Wrap(op, licensing.Unavailable, "Reading the attachment "+a.Name+" timed out; try again.", err)
	}
	return licensing.Wrap(op, licensing.Internal, "The attachment "+a.Name+" could not be read.", err)
}

func sizeMismatch(op string, a licensing.Attachment) error {
	return licensing.Errorf(op, licensing.Internal, "The attachment %s does not hold the %d bytes its size says.", a.Name, a.Size)
}

// sendInline sends o in one sendMail request.
func (m *mailer) sendInline(ctx context.Context, op string, o *outgoing) error {
	msg := o.message()
	if len(o.atts) > 0 {
		atts := make([]models.Attachmentable, 0, len(o.atts))
		for _, a := range o.atts {
			fa, err := fileAttachment(ctx, op, a)
			if err != nil {
				return err
			}
			atts = append(atts, fa)
		}
		msg.SetAttachments(atts)
	}
	body := users.NewItemSendMailPostRequestBody()
	body.SetMessage(msg)
	save := true
	body.SetSaveToSentItems(&save)
	err := m.c.act(ctx, op, "sendMail", func(ctx context.Context) error {
		return m.c.svc.Users().ByUserId(m.sender).SendMail().Post(ctx, body, &users.ItemSendMailRequestBuilderPostRequestConfiguration{Options: noSDKRetry})
	})
	return m.translate(op, stepMailbox, permMailSend, err)
}

// sendDraft builds o as a draft, attaches its files and sends it. A draft
// left by a failure is deleted.
func (m *mailer) sendDraft(ctx context.Context, op string, o *outgoing) (err error) {
	const perms = permMailSend + " and " + permMailReadWrite
	user := m.c.svc.Users().ByUserId(m.sender)
	var draft models.Messageable
	err = m.c.call(ctx, "create draft", func(ctx context.Context) error {
		var err error
		draft, err = user.Messages().Post(ctx, o.message(), &users.ItemMessagesRequestBuilderPostRequestConfiguration{Options: noSDKRetry})
		return err
	})
	if err != nil {
		return m.translate(op, stepMailbox, perms, err)
	}
	id := ""
	if draft != nil {
		id = str(draft.GetId())
	}
	if id == "" {
		return licensing.Errorf(op, licensing.Internal, "%s created a draft without an id.", graphService)
	}
	defer func() {
		if err != nil {
			m.discard(ctx, id)
		}
	}()
	item := user.Messages().ByMessageId(id)
	for _, a := range o.atts {
		if a.Size < inlineLimit && attachmentJSONSize(a) <= maxRequest {
			fa, err := fileAttachment(ctx, op, a)
			if err != nil {
				return err
			}
			err = m.c.call(ctx, "post attachment", func(ctx context.Context) error {
				_, err := item.Attachments().Post(ctx, fa, &users.ItemMessagesItemAttachmentsRequestBuilderPostRequestConfiguration{Options: noSDKRetry})
				return err
			})
			if err != nil {
				return m.translate(op, stepDraft, perms, err)
			}
			continue
		}
		if err := m.uploadAttachment(ctx, op, item, a); err != nil {
			return err
		}
	}
	err = m.c.act(ctx, op, "send draft", func(ctx context.Context) error {
		return item.Send().Post(ctx, &users.ItemMessagesItemSendRequestBuilderPostRequestConfiguration{Options: noSDKRetry})
	})
	return m.translate(op, stepDraft, perms, err)
}

// discard deletes a draft that will not be sent, best effort: the caller's
// context may be the reason it failed.
func (m *mailer) discard(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := m.c.svc.Users().ByUserId(m.sender).Messages().ByMessageId(id).Delete(ctx, nil); err != nil {
		m.c.log.WarnContext(ctx, "graph: could not delete an unsent draft; it stays in the sender's Drafts folder",
			"sender", m.sender, "draft", id, "error", err.Error())
	}
}

// uploadAttachment attaches a to the draft item through an upload session,
// reading one chunk at a time from a.Open.
func (m *mailer) uploadAttachment(ctx context.Context, op string, item *users.ItemMessagesMessageItemRequestBuilder, a licensing.Attachment) error {
	const perms = permMailSend + " and " + permMailReadWrite
	ai := models.NewAttachmentItem()
	kind := models.FILE_ATTACHMENTTYPE
	name, ct, size := a.Name, a.ContentType, a.Size
	ai.SetAttachmentType(&kind)
	ai.SetName(&name)
	ai.SetContentType(&ct)
	ai.SetSize(&size)
	body := users.NewItemMessagesItemAttachmentsCreateUploadSessionPostRequestBody()
	body.SetAttachmentItem(ai)
	var session models.UploadSessionable
	err := m.c.call(ctx, "create upload session", func(ctx context.Context) error {
		var err error
		session, err = item.Attachments().CreateUploadSession().Post(ctx, body,
			&users.ItemMessagesItemAttachmentsCreateUploadSessionRequestBuilderPostRequestConfiguration{Options: noSDKRetry})
		return err
	})
	if err != nil {
		return m.translate(op, stepDraft, perms, err)
	}
	uploadURL := ""
	if session != nil {
		uploadURL = str(session.GetUploadUrl())
	}
	if err := m.checkUploadURL(uploadURL); err != nil {
		return licensing.Wrap(op, licensing.Internal, graphService+" returned an upload URL the app will not use.", err)
	}
	rc, err := a.Open(ctx)
	if err != nil {
		return attachmentError(op, a, err)
	}
	defer rc.Close()
	buf := make([]byte, min(int64(m.chunk), a.Size))
	for off := int64(0); off < a.Size; {
		n := min(int64(len(buf)), a.Size-off)
		if _, err := io.ReadFull(rc, buf[:n]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return sizeMismatch(op, a)
			}
			return attachmentError(op, a, err)
		}
		if off+n == a.Size {
			// The content must end where Size says, before the last
			// chunk completes the attachment.
			var one [1]byte
			if k, _ := io.ReadFull(rc, one[:]); k > 0 {
				return sizeMismatch(op, a)
			}
		}
		if err := m.putChunk(ctx, uploadURL, buf[:n], off, a.Size); err != nil {
			return m.translate(op, stepUpload, perms, err)
		}
		off += n
	}
	return nil
}

// checkUploadURL accepts an absolute https URL (http only when Graph itself
// is reached over http: a local fake).
func (m *mailer) checkUploadURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	base, _ := url.Parse(m.c.base)
	if !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && base.Scheme == "http")) {
		return fmt.Errorf("graph: upload URL %q is not an absolute https URL", truncateLink(s))
	}
	return nil
}

// putChunk PUTs one chunk to the upload URL, retried like any Graph request.
// It sends no Authorization header: the URL carries its own credential.
func (m *mailer) putChunk(ctx context.Context, uploadURL string, chunk []byte, off, total int64) error {
	return m.c.call(ctx, "upload chunk", func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, uploadURL, bytes.NewReader(chunk))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+int64(len(chunk))-1, total))
		resp, err := m.upload.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		text, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
			return nil
		}
		return uploadError(resp, text)
	})
}

// uploadError turns a failed PUT into an API error, so that the retry policy
// and apiStatus see its status and Retry-After like any Graph error.
func uploadError(resp *http.Response, body []byte) error {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	ae := abstractions.NewApiError()
	ae.ResponseStatusCode = resp.StatusCode
	for k, vs := range resp.Header {
		for _, v := range vs {
			ae.ResponseHeaders.Add(k, v)
		}
	}
	ae.Message = fmt.Sprintf("upload URL answered HTTP %d %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
	return ae
}

// step says where in sending a request failed, for the meaning of a 404.
type step int

const (
	stepMailbox step = iota // sendMail or creating the draft: the sender's mailbox
	stepDraft               // a request on the draft
	stepUpload              // a PUT to the upload URL
)

// translate turns a failure of sending into the Mailer's codes: Forbidden
// when the app may not send as the sender, Invalid when Graph refuses the
// message, Unavailable when trying later may help.
func (m *mailer) translate(op string, at step, perm string, err error) error {
	if err == nil {
		return nil
	}
	var le *licensing.Error
	if errors.As(err, &le) {
		return err
	}
	var te *throttledError
	if errors.As(err, &te) {
		return translate(op, perm, "", err)
	}
	status, _ := apiStatus(err)
	code, msg := odataCode(err)
	if at == stepUpload {
		switch status {
		case http.StatusNotFound, http.StatusGone:
			return licensing.Wrap(op, licensing.Unavailable, "The attachment upload session expired before the upload finished; try again.", err)
		case http.StatusRequestEntityTooLarge:
			return licensing.Wrap(op, licensing.Invalid, graphService+" refused the attachment as too large (HTTP 413).", err)
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest, http.StatusRequestedRangeNotSatisfiable:
			return licensing.Wrap(op, licensing.Internal, fmt.Sprintf("%s refused an attachment chunk (HTTP %d).", graphService, status), err)
		}
		return translate(op, perm, "The upload session", err)
	}
	switch {
	case status == http.StatusForbidden:
		return licensing.Wrap(op, licensing.Forbidden, fmt.Sprintf(
			"%s refused to let the app send mail as %s (HTTP 403 %s): the app needs the %s application permission with admin consent, and where Exchange RBAC for Applications (or an application access policy) limits the mailboxes it may use, %s must be in its scope.",
			graphService, m.sender, code, perm, m.sender), err)
	case status == http.StatusNotFound && at == stepMailbox:
		return licensing.Wrap(op, licensing.Forbidden, fmt.Sprintf(
			"%s found no mailbox %s to send from (HTTP 404 %s); MAIL_SENDER must name an Exchange Online mailbox.",
			graphService, m.sender, code), err)
	case status == http.StatusNotFound:
		return licensing.Wrap(op, licensing.Unavailable, "The draft of the message disappeared while it was being built; try again.", err)
	case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge || status == http.StatusUnprocessableEntity:
		return licensing.Wrap(op, licensing.Invalid, fmt.Sprintf("%s refused the message (HTTP %d %s: %s).", graphService, status, code, msg), err)
	}
	return translate(op, perm, "The message", err)
}
