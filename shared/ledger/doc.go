// Package ledger keeps the purchase ledger: append-only purchase lines with
// an audit trail, what each agency is entitled to on a day, corrections by
// central IT, and the import of the legacy tracking spreadsheet.
package ledger
