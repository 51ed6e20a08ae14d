// Package handlers speaks the Azure Functions custom-handler protocol for the
// app: the host POSTs each invocation to /{FunctionName} with the trigger's
// data, a function here decodes it into a typed request, calls one method of
// the licensing Service, and encodes the result as the host expects.
//
// Host rules this package lives by (see PLATFORM.md): an HTTP function always
// answers the host 200 and carries the caller's status in Outputs.res,
// because a non-2xx answer makes the host drop the outputs and logs; a queue
// invocation that must be retried answers non-2xx and writes its log lines to
// standard output, which the host still captures.
//
// It imports the domain and the standard library only.
package handlers
