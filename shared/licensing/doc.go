// Package licensing is the vocabulary of the license tracking service: the
// types every workflow shares (agencies, products, service requests,
// purchases, entitlements, usage snapshots, runs), the rules on them (terms
// in force, attribution, the payroll calendar, dates), authorization, agency
// administration and run records, and the interfaces of the stores,
// directory and mailer. Each workflow (intake, ledger, usage) is a package
// of its own built on this one.
//
// It imports nothing from Azure or Microsoft Graph. Adapters in sibling
// packages implement its interfaces and translate their SDK errors into the
// codes of this package (see Code); PolicyOf turns those codes into HTTP
// statuses and retry decisions.
package licensing
