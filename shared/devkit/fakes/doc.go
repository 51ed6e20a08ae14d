// Package fakes holds working in-memory fakes of the directory, the mailer,
// the step queue and the SKU catalog, with a small sample tenant, sample
// agencies and sample documents, for the tests of the workflow packages.
// Their fields are exported so that a test can arrange and inspect them
// directly. They are not safe for concurrent use unless a type says so.
package fakes
