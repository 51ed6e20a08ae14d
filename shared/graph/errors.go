package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// Graph application permissions, named in Forbidden messages.
const (
	permUsers    = "User.Read.All"
	permOrg      = "Organization.Read.All"
	permMembers  = "GroupMember.Read.All"
	permSignIns  = "AuditLog.Read.All"
	nonPremium   = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
	graphService = "Microsoft Graph"
)

// translate turns a failure of operation op into a *licensing.Error. perm is
// the application permission op needs, named when Graph refuses. what names
// the thing read, for NotFound.
func translate(op, perm, what string, err error) error {
	if err == nil {
		return nil
	}
	var le *licensing.Error
	if errors.As(err, &le) {
		return err
	}
	var te *throttledError
	if errors.As(err, &te) {
		if te.status == 0 {
			return licensing.Wrap(op, licensing.Unavailable, fmt.Sprintf(
				"%s could not be reached or did not answer in time, and did not recover within %s; try again later.",
				graphService, te.waited+te.next), err)
		}
		return licensing.Wrap(op, licensing.Unavailable, fmt.Sprintf(
			"%s is throttling or unavailable (HTTP %d) and did not recover within %s; try again later.",
			graphService, te.status, te.waited+te.next), err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return licensing.Wrap(op, licensing.Unavailable, graphService+" did not answer in time; try again later.", err)
	}
	status, _ := apiStatus(err)
	code, msg := odataCode(err)
	switch {
	case status == http.StatusUnauthorized:
		return licensing.Wrap(op, licensing.Forbidden, fmt.Sprintf(
			"%s refused the app's credentials (HTTP 401 %s); check the managed identity or client secret and that the app has the %s application permission.",
			graphService, code, perm), err)
	case status == http.StatusForbidden:
		return licensing.Wrap(op, licensing.Forbidden, fmt.Sprintf(
			"%s refused the request (HTTP 403 %s): the app needs the %s application permission, with admin consent.",
			graphService, code, perm), err)
	case status == http.StatusNotFound:
		return licensing.Wrap(op, licensing.NotFound, fmt.Sprintf("%s does not exist in the directory.", what), err)
	case status == http.StatusTooManyRequests || status >= 500:
		return licensing.Wrap(op, licensing.Unavailable, fmt.Sprintf("%s is unavailable (HTTP %d); try again later.", graphService, status), err)
	case status == http.StatusBadRequest:
		return licensing.Wrap(op, licensing.Internal, fmt.Sprintf("%s rejected the request (%s: %s).", graphService, code, msg), err)
	case status != 0:
		return licensing.Wrap(op, licensing.Internal, fmt.Sprintf("%s answered HTTP %d %s.", graphService, status, code), err)
	case isNetworkError(err):
		return licensing.Wrap(op, licensing.Unavailable, graphService+" could not be reached; try again later.", err)
	}
	return licensing.Wrap(op, licensing.Internal, graphService+" answered something the app could not read.", err)
}

// odataCode returns the code and message of Graph's error body, if any.
func odataCode(err error) (string, string) {
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		return "", ""
	}
	main := oe.GetErrorEscaped()
	if main == nil {
		return "", ""
	}
	var code, msg string
	if p := main.GetCode(); p != nil {
		code = *p
	}
	if p := main.GetMessage(); p != nil {
		msg = *p
	}
	return code, msg
}

// isNetworkError reports whether err is a failure to talk to Graph at all.
func isNetworkError(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

// isDeltaExpired reports whether err says a delta link can no longer be
// used: 410 Gone, or a 400 naming the sync state or token.
func isDeltaExpired(err error) bool {
	status, _ := apiStatus(err)
	if status == http.StatusGone {
		return true
	}
	if status != http.StatusBadRequest {
		return false
	}
	code, msg := odataCode(err)
	text := strings.ToLower(code + " " + msg)
	for _, s := range []string{"syncstate", "sync state", "resyncrequired", "deltatoken", "delta token", "steady state"} {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}

// isSignInUnavailable reports whether err is Graph refusing signInActivity:
// a tenant without Entra ID P1 (the code says so), or any 403 to a request
// that selected it (AuditLog.Read.All missing).
func isSignInUnavailable(err error) (bool, string) {
	status, _ := apiStatus(err)
	if status != http.StatusForbidden {
		return false, ""
	}
	code, _ := odataCode(err)
	if code == nonPremium {
		return true, "Last sign-in dates are not available: the tenant has no Microsoft Entra ID P1 license (Graph answered " + nonPremium + "); reports show no sign-in dates."
	}
	return true, "Last sign-in dates are not available: Graph refused signInActivity (HTTP 403 " + code + "); grant the app " + permSignIns + " to get them."
}
