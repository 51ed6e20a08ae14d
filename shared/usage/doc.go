// Package usage reads who uses which license from the tenant (usage
// snapshots, full or incremental), and reports it: the payroll-Monday
// workbooks and mails to each agency and to central IT, the monthly
// over-consumption audit, and the ad-hoc license reports.
package usage
