// Package demo is the local tour of the app that make demo runs: it starts
// the handler under the host harness on Azurite with the synthetic tenant,
// and drives agencies, the legacy import, purchase orders, a snapshot, a
// payroll run and capped group provisioning through the API, printing what
// each step did.
package demo
