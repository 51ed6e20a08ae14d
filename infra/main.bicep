// Azure resources for the license provisioning and tracking service:
// a storage account (tables, blobs, queues, and the deployment container),
// a user-assigned managed identity with data-plane roles on it, Application
// Insights, and a Flex Consumption function app running the Go custom handler.
//
// Deploy:  azd up (azure.yaml and main.parameters.json), or
//          az deployment group create -g <rg> -f infra/main.bicep -p admins='a@x.gov' \
//            centralIT='licensing@x.gov' mailSender='licensing@x.gov' authClientId=<app id>
// Then:    make package && az functionapp deployment source config-zip -g <rg> -n <app> --src dist/app.zip
// Graph application permissions for the identity are granted separately
// (infra/grant-graph-permissions.sh): Bicep cannot grant app roles without the
// Microsoft Graph extension.

@description('Short name used to derive resource names.')
param name string = 'licensing'

@description('Region for every resource.')
param location string = resourceGroup().location

@description('Central IT administrators: user principal names or object ids, comma-separated.')
param admins string

@description('Central IT addresses for activation routing and failures, comma-separated.')
param centralIT string

@description('Mailbox the app sends mail from (scope Mail.Send to it with Exchange RBAC for Applications).')
param mailSender string

@description('Minimum level the handler writes to standard output: debug, info, warn or error.')
param logLevel string = 'info'

var suffix = uniqueString(resourceGroup().id, name)
var storageName = toLower('st${take(name, 10)}${take(suffix, 12)}')

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_ZRS' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: 30 }
    containerDeleteRetentionPolicy: { enabled: true, days: 30 }
  }
}

resource deployments 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'deployments'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${name}-${suffix}'
  location: location
}

// Data-plane roles the app and the Functions host need on the account.
var roles = {
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in items(roles): {
  name: guid(storage.id, identity.id, role.value)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
  }
}]

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${name}-${suffix}'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 90
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${name}-${suffix}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
  }
}

// The identity sends telemetry with Entra ID authentication
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING); Application Insights accepts it
// only from a principal holding Monitoring Metrics Publisher on the resource.
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource telemetryRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identity.id, monitoringMetricsPublisher)
  scope: insights
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${name}-${suffix}'
  location: location
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-${name}-${suffix}'
  location: location
  kind: 'functionapp,linux'
  // azd deploys the service named in azure.yaml to the resource with this tag.
  tags: { 'azd-service-name': 'handler' }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}deployments'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 40
        instanceMemoryMB: 2048
      }
      // Flex Consumption takes the runtime here; FUNCTIONS_WORKER_RUNTIME
      // must not be set as an app setting.
      runtime: { name: 'custom', version: '1.0' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
        { name: 'ADMINS', value: admins }
        { name: 'ACTIVATION_QUEUE', value: 'activation-steps' }
        { name: 'WORK_QUEUE', value: 'work-items' }
        { name: 'CENTRAL_IT_EMAIL', value: centralIT }
        { name: 'MAIL_MODE', value: 'graph' }
        { name: 'MAIL_SENDER', value: mailSender }
        { name: 'APP_URL', value: 'https://func-${name}-${suffix}.azurewebsites.net' }
        { name: 'GRAPH_MODE', value: 'live' }
        { name: 'GRAPH_AUTH', value: 'managed-identity' }
        { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
        { name: 'SKU_CATALOG_URL', value: 'https://download.microsoft.com/download/e/3/e/e3e9faf2-f28b-490a-9ada-c6089a1fc5b0/Product%20names%20and%20service%20plan%20identifiers%20for%20licensing.csv' }
        { name: 'AUTH_ALLOW_ANONYMOUS', value: 'false' }
        { name: 'LOG_LEVEL', value: logLevel }
      ]
    }
  }
  dependsOn: [roleAssignments, telemetryRole]
}

// App Service authentication (Entra ID) supplies the X-MS-CLIENT-PRINCIPAL
// headers the handler trusts. It validates every Entra ID token and session
// cookie that comes in, sets the headers from them and strips any a client
// sent itself, whether or not a request carries an identity.
//
// It lets requests without an identity through (AllowAnonymous) and the app
// decides what they get: the web pages send the browser to
// /.auth/login/aad?post_login_redirect_uri=<the page> themselves, and the API
// answers 401 (its functions also need a function key, for machine clients).
// RedirectToLoginPage would send API clients a sign-in page as well, and
// Return401 would leave a person opening a page with a bare 401 instead of
// the sign-in.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
      redirectToProvider: 'azureActiveDirectory'
    }
    httpSettings: {
      requireHttps: true
    }
    login: {
      // Keeps the users' tokens behind the session cookie (/.auth/me,
      // /.auth/refresh).
      tokenStore: { enabled: true }
      // No other site: after signing in, post_login_redirect_uri may only be
      // a page of this app.
      allowedExternalRedirectUrls: []
      cookieExpiration: { convention: 'FixedTime', timeToExpiration: '08:00:00' }
      nonce: { validateNonce: true }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
          clientId: authClientId
        }
        // Tokens a flow or script requests for the registration's exposed
        // API (Power Automate's HTTP with Microsoft Entra ID, docs/deploy.md)
        // carry this audience; the client id is accepted without being listed.
        validation: {
          allowedAudiences: ['api://${authClientId}']
        }
      }
    }
  }
}

// Saved queries for administrators, in Application Insights' Logs (Queries,
// "licensetrack" pack). They read what the Functions host records for each
// invocation (requests) and the handler's log lines (traces), which begin
// with their level: "INFO message key=value ...". Multi-line strings take no
// interpolation or escapes, so the KQL stands as written.
var savedQueries = [
  {
    name: 'runs'
    displayName: 'licensetrack: scheduled runs'
    description: 'Every run of the timer functions in the last 30 days, newest first, with its outcome and duration; a run skipped because another copy held its lease is marked busy.'
    body: '''
let busyRuns = traces
  | where timestamp > ago(30d) and message has "is under way; this one did nothing"
  | distinct operation_Id;
requests
| where timestamp > ago(30d) and name in ("PayrollReport", "UsageAudit", "ActivationSweep", "ProvisionGroups", "RenewalReminders")
| extend busy = operation_Id in (busyRuns)
| project timestamp, functionName = name, success, busy, durationMinutes = round(duration / 60000.0, 1), operation_Id
| order by timestamp desc
'''
  }
  {
    name: 'failures'
    displayName: 'licensetrack: failed invocations'
    description: 'Failed invocations of the last 7 days with the reason the handler logged ("invocation failed" and "request failed" lines).'
    body: '''
let reasons = traces
  | where timestamp > ago(7d) and (message has "invocation failed" or message has "request failed" or message startswith "ERROR")
  | summarize reason = take_any(message) by operation_Id;
requests
| where timestamp > ago(7d) and success == false
| join kind=leftouter reasons on operation_Id
| project timestamp, functionName = name, resultCode, reason, operation_Id
| order by timestamp desc
'''
  }
  {
    name: 'poison'
    displayName: 'licensetrack: activation messages retried, given up, poisoned'
    description: 'Activation-step messages the handler retried (with their dequeue count), gave up on, and the poisoned messages the sweep marked as failed, last 14 days.'
    body: '''
traces
| where timestamp > ago(14d)
| where message has_any ("will be retried", "gave up on the message", "poisoned activation messages handled")
| extend outcome = case(message has "poisoned activation messages handled", "poisoned (swept)",
    message has "gave up on the message", "given up", "retried"),
  dequeueCount = toint(extract(@"dequeueCount=(\d+)", 1, message)),
  count_ = toint(extract(@"count=(\d+)", 1, message))
| project timestamp, outcome, dequeueCount, messages = count_, functionName = operation_Name, message, operation_Id
| order by timestamp desc
'''
  }
  {
    name: 'throttling'
    displayName: 'licensetrack: Microsoft Graph throttling'
    description: 'Graph requests the handler waited on (429, 503, 504) per hour and status, and the calls that gave up after GRAPH_MAX_RETRY_WAIT, last 7 days.'
    body: '''
traces
| where timestamp > ago(7d)
| where message has "graph: retrying" or message has "did not recover within" or message has "gave up after waiting"
| extend status = extract(@"status=(\d+)", 1, message),
  gaveUp = message has "did not recover within" or message has "gave up after waiting"
| summarize retries = countif(not(gaveUp)), gaveUpCalls = countif(gaveUp) by bin(timestamp, 1h), status
| order by timestamp desc
'''
  }
]

resource queryPack 'Microsoft.OperationalInsights/queryPacks@2019-09-01' = {
  name: 'pack-${name}-${suffix}'
  location: location
  properties: {}
}

resource queries 'Microsoft.OperationalInsights/queryPacks/queries@2019-09-01' = [for q in savedQueries: {
  parent: queryPack
  name: guid(queryPack.id, q.name)
  properties: {
    displayName: q.displayName
    description: q.description
    body: q.body
    related: {
      categories: ['applications']
      resourceTypes: ['microsoft.insights/components']
    }
    tags: { labels: ['licensetrack'] }
  }
}]

@description('Client id of the Entra ID app registration users sign in to (App Service authentication).')
param authClientId string

output functionAppName string = app.name
output storageAccountName string = storage.name
output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
