#!/usr/bin/env bash
# Grants the app's managed identity the Microsoft Graph application
# permissions it uses. Managed identities get app roles only through an app
# role assignment (there is no portal button); run this once as a Privileged
# Role Administrator after deploying main.bicep:
#   infra/grant-graph-permissions.sh <identityPrincipalId> [--usage-location] [--exchange-rbac]
# (identityPrincipalId is an output of the deployment.) Pass --usage-location
# when the app has DEFAULT_USAGE_LOCATION set: only then does it need
# User.ReadWrite.All, which can change any user, so it is not granted
# otherwise. Pass --exchange-rbac when Exchange Online grants the mail
# permissions, scoped to the sender's mailbox (RBAC for Applications,
# docs/deploy.md): Mail.Send and Mail.ReadWrite granted here apply to every
# mailbox and would override that scope, so they are then not granted.
set -euo pipefail
usage="usage: $0 <managed identity principal (object) id> [--usage-location] [--exchange-rbac]"
principal=${1:?$usage}
shift
usage_location=false
exchange_rbac=false
for arg in "$@"; do
  case "$arg" in
    --usage-location) usage_location=true ;;
    --exchange-rbac) exchange_rbac=true ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done

# What each permission is for:
#   User.Read.All                  read users and their licenses (usage snapshot)
#   Organization.Read.All          subscribedSkus and directory subscriptions
#   GroupMember.Read.All           delegated group members (capped provisioning, group attribution)
#   AuditLog.Read.All              last sign-in (needs Entra ID P1; optional)
#   LicenseAssignment.ReadWrite.All assign and remove licenses (capped provisioning)
#   User.ReadWrite.All             set usageLocation before licensing (only with DEFAULT_USAGE_LOCATION)
#   Mail.Send                      report and notification mail (to scope it to one mailbox,
#                                  pass --exchange-rbac and grant it in Exchange Online)
#   Mail.ReadWrite                 draft + upload session for attachments over 3 MB
permissions=(User.Read.All Organization.Read.All GroupMember.Read.All AuditLog.Read.All
  LicenseAssignment.ReadWrite.All User.ReadWrite.All Mail.Send Mail.ReadWrite)

graph_sp=$(az ad sp show --id 00000003-0000-0000-c000-000000000000 --query id -o tsv)
for p in "${permissions[@]}"; do
  if [ "$p" = User.ReadWrite.All ] && [ "$usage_location" != true ]; then
    echo "$p: not granted (needed only with DEFAULT_USAGE_LOCATION; pass --usage-location)"; continue
  fi
  if [ "$exchange_rbac" = true ] && { [ "$p" = Mail.Send ] || [ "$p" = Mail.ReadWrite ]; }; then
    echo "$p: not granted (--exchange-rbac: assign \"Application $p\" in Exchange Online, scoped to MAIL_SENDER)"; continue
  fi
  role=$(az ad sp show --id 00000003-0000-0000-c000-000000000000 \
    --query "appRoles[?value=='$p' && contains(allowedMemberTypes, 'Application')].id | [0]" -o tsv)
  if [ -z "$role" ]; then echo "no app role $p on Microsoft Graph" >&2; exit 1; fi
  if az rest --method GET --url "https://graph.microsoft.com/v1.0/servicePrincipals/$principal/appRoleAssignments" \
      --query "value[?appRoleId=='$role'] | length(@)" -o tsv | grep -q '^[1-9]'; then
    echo "$p: already granted"; continue
  fi
  az rest --method POST --url "https://graph.microsoft.com/v1.0/servicePrincipals/$principal/appRoleAssignments" \
    --headers 'Content-Type=application/json' \
    --body "{\"principalId\":\"$principal\",\"resourceId\":\"$graph_sp\",\"appRoleId\":\"$role\"}" >/dev/null
  echo "$p: granted"
done
