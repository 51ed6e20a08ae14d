// Package licensing is the domain of the license provisioning and tracking
// service: agencies, products, service requests, purchases, entitlements and
// usage snapshots, the Service that applies the product's rules to them, and
// the interfaces of the stores, directory and mailer it needs.
//
// It imports nothing from Azure or Microsoft Graph. Adapters in sibling
// packages implement its interfaces and translate their SDK errors into the
// codes of this package (see Code); the handlers turn those codes into HTTP
// statuses and queue retry decisions.
package licensing
