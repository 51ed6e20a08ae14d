// Package funchost plays the Azure Functions host for this app's custom
// handler, so that tests and local runs can exercise the handler through the
// same protocol the real host speaks (docs/host-protocol.md describes it).
//
// Load reads host.json and every function.json of an app directory and
// validates them. An App then either starts the handler executable (App.Start)
// or targets a handler that is already listening (App.Target), giving a Host.
// A Host is an http.Handler that accepts requests under the route prefix
// (/api/...) and turns them into custom-handler invocations; it polls the
// trigger queues (DrainQueues, RunQueues), fires timers (FireTimer,
// RunTimers), applies queue output bindings, and keeps the recent
// invocations for inspection. With Config.LocalSignIn it also plays App
// Service authentication for browsers (/.auth/login/aad, /.auth/logout,
// /.auth/me and the identity headers from a session cookie).
//
// The quirks of the real host are reproduced on purpose: queue trigger values
// and metadata strings are JSON-encoded twice, DequeueCount is a string, a
// non-2xx reply from the handler fails the invocation and drops its Outputs
// and Logs, HTTP bodies of binary and multipart requests arrive as base64,
// queue messages are base64 on the wire, and an output string that happens to
// be valid base64 is decoded into bytes before it is enqueued.
package funchost
