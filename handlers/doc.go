// Package handlers speaks the Azure Functions custom-handler protocol for the
// app: the host POSTs each invocation to /{FunctionName} with the trigger's
// data, a function here decodes it into a typed request, calls one method of
// a domain service (agencies, runs, intake, ledger, usage), converts the
// result to the API's own response type (responses.go) and encodes it as the
// host expects.
//
// Host rules this package lives by (docs/host-protocol.md has the rest): an
// HTTP function always answers the host 200 and carries the caller's status
// in Outputs.res, because a non-2xx answer makes the host drop the outputs
// and logs; a queue invocation that must be retried answers non-2xx and
// writes its log lines to standard output, which the host still captures.
//
// It imports the standard library, the vocabulary (shared/licensing) and the
// workflow packages only.
package handlers
