package graphfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Endpoints of the mail API. EndpointUpload is the pre-authenticated upload
// URL an upload session hands out; it lives outside /v1.0, like Graph's
// (which points at outlook.office.com).
const (
	EndpointSendMail      = "users/sendMail"
	EndpointMessages      = "users/messages"
	EndpointMessage       = "users/messages/item"
	EndpointAttachments   = "users/messages/attachments"
	EndpointUploadSession = "users/messages/attachments/createUploadSession"
	EndpointUpload        = "upload"
	EndpointSend          = "users/messages/send"
)

// Limits of the mail API, as Graph documents them.
const (
	// MaxMailRequestBytes bounds the JSON of sendMail, a draft and a
	// single-POST attachment (Graph: 4 MB per request); larger is 413.
	MaxMailRequestBytes = 4 << 20
	// MinUploadSessionBytes and MaxUploadSessionBytes bound an attachment
	// uploaded through a session (Graph: "between 3 MB and 150 MB").
	MinUploadSessionBytes = 3_000_000
	MaxUploadSessionBytes = 150 << 20
	// MaxChunkBytes bounds one PUT to an upload URL (Graph: 4 MB); every
	// chunk but the last must be a multiple of ChunkUnit.
	MaxChunkBytes = 4 << 20
	ChunkUnit     = 320 << 10
	// UploadSessionLifetime is how long an upload URL stays valid.
	UploadSessionLifetime = time.Hour
)

// uploadPrefix is the path of upload URLs.
const uploadPrefix = "/upload/"

// SentMessage is a message the fake "delivered": one sendMail, or a draft
// that was sent.
type SentMessage struct {
	// From is the mailbox in the request path (the sender), lower-cased.
	From        string
	To          []string
	Cc          []string
	Subject     string
	Body        string
	ContentType string // "text" or "html", as sent
	// Headers are the internetMessageHeaders the client set.
	Headers     map[string]string
	Attachments []SentAttachment
	// SaveToSentItems is sendMail's flag; a sent draft always is.
	SaveToSentItems bool
	// ViaDraft is false for an inline sendMail, true for a draft (POST
	// /messages, attachments, POST /send).
	ViaDraft bool
}

// SentAttachment is one file attachment of a sent message, decoded.
type SentAttachment struct {
	Name        string
	ContentType string
	Bytes       []byte
	// Uploaded is true when it came through an upload session, false when
	// its bytes were inline (contentBytes).
	Uploaded bool
	// Chunks is how many PUTs uploaded it (0 when inline).
	Chunks int
}

// mailState holds drafts, upload sessions and sent mail.
type mailState struct {
	mu       sync.Mutex
	drafts   map[string]*draft
	sessions map[string]*uploadSession
	sent     []SentMessage
}

type draft struct {
	user    string
	message SentMessage
}

type uploadSession struct {
	user, messageID string
	name, ctype     string
	size            int64
	data            []byte
	chunks          int
	expires         time.Time
}

// SentMail returns the messages sent so far, oldest first.
func (s *Server) SentMail() []SentMessage {
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	out := make([]SentMessage, len(s.mail.sent))
	for i, m := range s.mail.sent {
		out[i] = m
		out[i].To = append([]string(nil), m.To...)
		out[i].Cc = append([]string(nil), m.Cc...)
		out[i].Attachments = append([]SentAttachment(nil), m.Attachments...)
	}
	return out
}

// OpenDrafts returns how many drafts exist that were neither sent nor
// deleted.
func (s *Server) OpenDrafts() int {
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	return len(s.mail.drafts)
}

// ClearMail forgets drafts, upload sessions and sent mail.
func (s *Server) ClearMail() {
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	s.mail.drafts, s.mail.sessions, s.mail.sent = nil, nil, nil
}

// mailRoute recognises the mail API under /v1.0/: parts is the path split
// on "/".
func mailRoute(parts []string) (routed, bool) {
	if len(parts) < 3 || parts[0] != "users" || parts[1] == "" {
		return routed{}, false
	}
	r := routed{user: strings.ToLower(parts[1])}
	action := func(p, name string) bool { return p == name || p == "microsoft.graph."+name }
	switch {
	case len(parts) == 3 && action(parts[2], "sendMail"):
		r.endpoint = EndpointSendMail
	case len(parts) == 3 && parts[2] == "messages":
		r.endpoint = EndpointMessages
	case len(parts) >= 4 && parts[2] == "messages" && parts[3] != "":
		r.message = parts[3]
		switch {
		case len(parts) == 4:
			r.endpoint = EndpointMessage
		case len(parts) == 5 && parts[4] == "attachments":
			r.endpoint = EndpointAttachments
		case len(parts) == 5 && action(parts[4], "send"):
			r.endpoint = EndpointSend
		case len(parts) == 6 && parts[4] == "attachments" && action(parts[5], "createUploadSession"):
			r.endpoint = EndpointUploadSession
		default:
			return routed{}, false
		}
	default:
		return routed{}, false
	}
	return r, true
}

func isMailEndpoint(e string) bool {
	switch e {
	case EndpointSendMail, EndpointMessages, EndpointMessage, EndpointAttachments,
		EndpointUploadSession, EndpointUpload, EndpointSend:
		return true
	}
	return false
}

// serveMail serves one request to the mail API. body is the request body,
// gunzipped; host is the server's own scheme and host.
func (s *Server) serveMail(r *http.Request, rt routed, body []byte, host string) reply {
	want := map[string]string{
		EndpointSendMail: http.MethodPost, EndpointMessages: http.MethodPost, EndpointMessage: http.MethodDelete,
		EndpointAttachments: http.MethodPost, EndpointUploadSession: http.MethodPost,
		EndpointUpload: http.MethodPut, EndpointSend: http.MethodPost,
	}[rt.endpoint]
	if r.Method != want {
		return errorReply(http.StatusMethodNotAllowed, "Request_BadRequest", "The fake serves "+want+" on this path, not "+r.Method+".")
	}
	if rt.endpoint != EndpointUpload && rt.endpoint != EndpointMessage && len(body) > MaxMailRequestBytes {
		return errorReply(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			"The request body is "+strconv.Itoa(len(body))+" bytes; the limit is "+strconv.Itoa(MaxMailRequestBytes)+".")
	}
	switch rt.endpoint {
	case EndpointSendMail:
		return s.sendMail(rt.user, body)
	case EndpointMessages:
		return s.createDraft(rt.user, body)
	case EndpointMessage:
		return s.deleteDraft(rt.user, rt.message)
	case EndpointAttachments:
		return s.addAttachment(rt.user, rt.message, body)
	case EndpointUploadSession:
		return s.createUploadSession(rt.user, rt.message, body, host)
	case EndpointUpload:
		return s.upload(r, rt.token, body, host)
	default:
		return s.sendDraft(rt.user, rt.message)
	}
}

// Graph's JSON shapes of a message, as far as the fake reads them.
type (
	jsonMessage struct {
		Subject *string `json:"subject"`
		Body    *struct {
			ContentType string `json:"contentType"`
			Content     string `json:"content"`
		} `json:"body"`
		ToRecipients []jsonRecipient  `json:"toRecipients"`
		CcRecipients []jsonRecipient  `json:"ccRecipients"`
		Attachments  []jsonAttachment `json:"attachments"`
		Headers      []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"internetMessageHeaders"`
	}
	jsonRecipient struct {
		EmailAddress struct {
			Name    string `json:"name"`
			Address string `json:"address"`
		} `json:"emailAddress"`
	}
	jsonAttachment struct {
		ODataType    string `json:"@odata.type"`
		Name         string `json:"name"`
		ContentType  string `json:"contentType"`
		ContentBytes []byte `json:"contentBytes"`
	}
)

func badRequest(code, msg string) reply { return errorReply(http.StatusBadRequest, code, msg) }

func invalidJSON(err error) reply {
	return badRequest("RequestBodyRead", "The request body is not valid JSON: "+err.Error())
}

// message converts a parsed message, checking what Graph checks.
func (m *jsonMessage) message(from string) (SentMessage, *reply) {
	out := SentMessage{From: from, ContentType: "text"}
	if m.Subject != nil {
		out.Subject = *m.Subject
	}
	if m.Body != nil {
		out.Body = m.Body.Content
		switch ct := strings.ToLower(m.Body.ContentType); ct {
		case "", "text", "html":
			if ct != "" {
				out.ContentType = ct
			}
		default:
			rep := badRequest("RequestBodyRead", "Requested value '"+m.Body.ContentType+"' was not found in bodyType.")
			return out, &rep
		}
	}
	for _, list := range []struct {
		in  []jsonRecipient
		out *[]string
	}{{m.ToRecipients, &out.To}, {m.CcRecipients, &out.Cc}} {
		for _, r := range list.in {
			a := r.EmailAddress.Address
			if _, err := licensing.ParseAddress(a); err != nil {
				rep := badRequest("ErrorInvalidRecipients", "At least one recipient isn't valid: '"+a+"' is not an SMTP address.")
				return out, &rep
			}
			*list.out = append(*list.out, a)
		}
	}
	if len(m.Headers) > 0 {
		out.Headers = map[string]string{}
		for _, h := range m.Headers {
			if !strings.HasPrefix(strings.ToLower(h.Name), "x-") {
				rep := badRequest("InvalidInternetMessageHeader", "The internet message header name '"+h.Name+"' should start with 'x-' or 'X-'.")
				return out, &rep
			}
			out.Headers[h.Name] = h.Value
		}
	}
	for _, a := range m.Attachments {
		if !strings.EqualFold(strings.TrimPrefix(a.ODataType, "#"), "microsoft.graph.fileAttachment") {
			rep := badRequest("ErrorInvalidAttachmentType", "The fake accepts only #microsoft.graph.fileAttachment, not '"+a.ODataType+"'.")
			return out, &rep
		}
		out.Attachments = append(out.Attachments, SentAttachment{Name: a.Name, ContentType: a.ContentType, Bytes: orEmpty(a.ContentBytes)})
	}
	return out, nil
}

func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func noRecipients() reply {
	return badRequest("ErrorInvalidRecipients", "At least one recipient is required, but none were found.")
}

// sendMail serves POST /users/{id}/sendMail.
func (s *Server) sendMail(user string, body []byte) reply {
	var req struct {
		Message         *jsonMessage `json:"Message"`
		SaveToSentItems *bool        `json:"SaveToSentItems"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return invalidJSON(err)
	}
	if req.Message == nil {
		return badRequest("ErrorInvalidParameter", "The parameter 'Message' is required.")
	}
	msg, rep := req.Message.message(user)
	if rep != nil {
		return *rep
	}
	if len(msg.To)+len(msg.Cc) == 0 {
		return noRecipients()
	}
	msg.SaveToSentItems = req.SaveToSentItems == nil || *req.SaveToSentItems
	s.mail.mu.Lock()
	s.mail.sent = append(s.mail.sent, msg)
	s.mail.mu.Unlock()
	s.mailSent(msg)
	return reply{status: http.StatusAccepted}
}

// createDraft serves POST /users/{id}/messages.
func (s *Server) createDraft(user string, body []byte) reply {
	var m jsonMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return invalidJSON(err)
	}
	msg, rep := m.message(user)
	if rep != nil {
		return *rep
	}
	msg.ViaDraft, msg.SaveToSentItems = true, true
	id := "AAMk" + randomHex(24)
	s.mail.mu.Lock()
	if s.mail.drafts == nil {
		s.mail.drafts = map[string]*draft{}
	}
	s.mail.drafts[id] = &draft{user: user, message: msg}
	s.mail.mu.Unlock()
	b, _ := json.Marshal(map[string]any{
		"@odata.type":     "#microsoft.graph.message",
		"id":              id,
		"isDraft":         true,
		"subject":         msg.Subject,
		"createdDateTime": time.Now().UTC().Format(time.RFC3339),
		"hasAttachments":  len(msg.Attachments) > 0,
	})
	return reply{status: http.StatusCreated, body: b}
}

// draftOf returns the draft id of user; the caller holds s.mail.mu.
func (s *Server) draftOf(user, id string) (*draft, *reply) {
	d, ok := s.mail.drafts[id]
	if !ok || d.user != user {
		rep := errorReply(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return nil, &rep
	}
	return d, nil
}

// deleteDraft serves DELETE /users/{id}/messages/{mid}.
func (s *Server) deleteDraft(user, id string) reply {
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	if _, rep := s.draftOf(user, id); rep != nil {
		return *rep
	}
	delete(s.mail.drafts, id)
	for tok, us := range s.mail.sessions {
		if us.messageID == id {
			delete(s.mail.sessions, tok)
		}
	}
	return reply{status: http.StatusNoContent}
}

// addAttachment serves POST /users/{id}/messages/{mid}/attachments.
func (s *Server) addAttachment(user, id string, body []byte) reply {
	var a jsonAttachment
	if err := json.Unmarshal(body, &a); err != nil {
		return invalidJSON(err)
	}
	m := jsonMessage{Attachments: []jsonAttachment{a}}
	conv, rep := m.message(user)
	if rep != nil {
		return *rep
	}
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	d, rep := s.draftOf(user, id)
	if rep != nil {
		return *rep
	}
	d.message.Attachments = append(d.message.Attachments, conv.Attachments[0])
	b, _ := json.Marshal(map[string]any{
		"@odata.type": "#microsoft.graph.fileAttachment",
		"id":          "AAMkAtt" + randomHex(12),
		"name":        a.Name,
		"contentType": a.ContentType,
		"size":        len(a.ContentBytes),
		"isInline":    false,
	})
	return reply{status: http.StatusCreated, body: b}
}

// createUploadSession serves POST
// /users/{id}/messages/{mid}/attachments/createUploadSession.
func (s *Server) createUploadSession(user, id string, body []byte, host string) reply {
	var req struct {
		Item *struct {
			AttachmentType string `json:"attachmentType"`
			Name           string `json:"name"`
			Size           *int64 `json:"size"`
			ContentType    string `json:"contentType"`
		} `json:"AttachmentItem"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return invalidJSON(err)
	}
	it := req.Item
	switch {
	case it == nil:
		return badRequest("ErrorInvalidParameter", "The parameter 'AttachmentItem' is required.")
	case !strings.EqualFold(it.AttachmentType, "file"):
		return badRequest("ErrorInvalidParameter", "attachmentType must be 'file', not '"+it.AttachmentType+"'.")
	case it.Name == "":
		return badRequest("ErrorInvalidParameter", "The attachment name is required.")
	case it.Size == nil:
		return badRequest("ErrorInvalidParameter", "The attachment size is required.")
	case *it.Size < MinUploadSessionBytes:
		return badRequest("ErrorAttachmentSizeShouldNotBeLessThanMinimumSize", "Attachment size must be at least 3 MB for an upload session; post smaller attachments directly.")
	case *it.Size > MaxUploadSessionBytes:
		return badRequest("ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize", "Attachment size must not exceed 150 MB.")
	}
	tok := randomHex(32)
	exp := time.Now().Add(UploadSessionLifetime).UTC()
	s.mail.mu.Lock()
	if _, rep := s.draftOf(user, id); rep != nil {
		s.mail.mu.Unlock()
		return *rep
	}
	if s.mail.sessions == nil {
		s.mail.sessions = map[string]*uploadSession{}
	}
	s.mail.sessions[tok] = &uploadSession{user: user, messageID: id, name: it.Name, ctype: it.ContentType,
		size: *it.Size, data: make([]byte, 0, *it.Size), expires: exp}
	s.mail.mu.Unlock()
	b, _ := json.Marshal(map[string]any{
		"@odata.type":        "#microsoft.graph.uploadSession",
		"uploadUrl":          host + uploadPrefix + tok,
		"expirationDateTime": exp.Format(time.RFC3339),
		"nextExpectedRanges": []string{"0-"},
	})
	return reply{status: http.StatusCreated, body: b}
}

// upload serves PUT {uploadUrl}: one chunk with a Content-Range.
func (s *Server) upload(r *http.Request, tok string, body []byte, host string) reply {
	if r.Header.Get("Authorization") != "" {
		// The upload URL is pre-authenticated; Graph refuses a bearer
		// token on it.
		return errorReply(http.StatusUnauthorized, "InvalidAudienceForResource", "The audience claim value is invalid for this upload URL; send no Authorization header to a pre-authenticated upload URL.")
	}
	start, end, total, ok := parseContentRange(r.Header.Get("Content-Range"))
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	us, found := s.mail.sessions[tok]
	if !found || time.Now().After(us.expires) {
		delete(s.mail.sessions, tok)
		return errorReply(http.StatusNotFound, "ErrorItemNotFound", "The upload session does not exist or has expired.")
	}
	have := int64(len(us.data))
	n := int64(len(body))
	last := end+1 == total
	switch {
	case !ok:
		return badRequest("InvalidContentRange", "Content-Range must be 'bytes {start}-{end}/{total}', not '"+r.Header.Get("Content-Range")+"'.")
	case total != us.size:
		return badRequest("InvalidContentRange", "The total length "+strconv.FormatInt(total, 10)+" does not match the session's "+strconv.FormatInt(us.size, 10)+".")
	case start != have:
		return badRequest("InvalidContentRange", "The next expected range starts at "+strconv.FormatInt(have, 10)+", not "+strconv.FormatInt(start, 10)+".")
	case end-start+1 != n:
		return badRequest("InvalidContentRange", "The range holds "+strconv.FormatInt(end-start+1, 10)+" bytes but the body "+strconv.FormatInt(n, 10)+".")
	case n > MaxChunkBytes:
		return badRequest("InvalidContentRange", "A chunk may hold at most 4 MB.")
	case !last && n%ChunkUnit != 0:
		return badRequest("InvalidContentRange", "Every chunk but the last must be a multiple of 320 KiB.")
	}
	us.data = append(us.data, body...)
	us.chunks++
	if !last {
		b, _ := json.Marshal(map[string]any{
			"expirationDateTime": us.expires.Format(time.RFC3339),
			"nextExpectedRanges": []string{strconv.FormatInt(end+1, 10) + "-"},
		})
		return okReply(b)
	}
	delete(s.mail.sessions, tok)
	d, rep := s.draftOf(us.user, us.messageID)
	if rep != nil {
		return *rep
	}
	d.message.Attachments = append(d.message.Attachments, SentAttachment{Name: us.name, ContentType: us.ctype,
		Bytes: us.data, Uploaded: true, Chunks: us.chunks})
	aid := "AAMkAtt" + randomHex(12)
	return reply{status: http.StatusCreated, header: http.Header{
		"Location": {host + "/v1.0/users('" + us.user + "')/messages('" + us.messageID + "')/attachments('" + aid + "')"},
	}}
}

// parseContentRange parses "bytes {start}-{end}/{total}".
func parseContentRange(v string) (start, end, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	start, err1 = strconv.ParseInt(a, 10, 64)
	end, err2 = strconv.ParseInt(b, 10, 64)
	total, err3 = strconv.ParseInt(tot, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || end < start || end >= total {
		return 0, 0, 0, false
	}
	return start, end, total, true
}

// sendDraft serves POST /users/{id}/messages/{mid}/send.
func (s *Server) sendDraft(user, id string) reply {
	rep, sent := s.takeDraft(user, id)
	if sent != nil {
		s.mailSent(*sent)
	}
	return rep
}

// takeDraft sends the draft id: it moves to the sent messages, which it
// returns.
func (s *Server) takeDraft(user, id string) (reply, *SentMessage) {
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	d, rep := s.draftOf(user, id)
	if rep != nil {
		return *rep, nil
	}
	if len(d.message.To)+len(d.message.Cc) == 0 {
		return noRecipients(), nil
	}
	for tok, us := range s.mail.sessions {
		if us.messageID == id {
			delete(s.mail.sessions, tok)
		}
	}
	delete(s.mail.drafts, id)
	s.mail.sent = append(s.mail.sent, d.message)
	return reply{status: http.StatusAccepted}, &d.message
}

// randomHex returns n random bytes in hex: ids and unguessable tokens.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("graphfake: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// mailSent calls OnMailSent, when set, for msg.
func (s *Server) mailSent(msg SentMessage) {
	if s.OnMailSent != nil {
		s.OnMailSent(msg)
	}
}
