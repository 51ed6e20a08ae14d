// Package intake takes purchase orders and walks each service request
// through activation: the intake checks (what is missing, what is wrong),
// then the queued steps validate, record (the purchase lines, pending),
// route (central IT is asked to activate), verify (the seats appear in the
// tenant), close and notify. Every step reads the request's stored state
// first, so a message delivered twice does not act twice.
package intake
