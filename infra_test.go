package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/config"
	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// These tests read infra/main.bicep, infra/main.parameters.json, azure.yaml
// and host.json as text: neither the Bicep compiler nor azd runs here, so
// they check what the app needs of them, not that Azure accepts them.

// bicepDecl is one top-level declaration of a Bicep file: its keyword
// (param, var, resource, output), its name and its whole text.
type bicepDecl struct {
	kind, name, text string
}

var bicepDeclStart = regexp.MustCompile(`^(param|var|resource|output) (\w+)`)

// bicepDecls splits a Bicep file into its top-level declarations; comments
// and decorators in front of one belong to the one before.
func bicepDecls(t *testing.T) []bicepDecl {
	t.Helper()
	raw, err := os.ReadFile("infra/main.bicep")
	if err != nil {
		t.Fatal(err)
	}
	var decls []bicepDecl
	for _, line := range strings.Split(string(raw), "\n") {
		if m := bicepDeclStart.FindStringSubmatch(line); m != nil {
			decls = append(decls, bicepDecl{kind: m[1], name: m[2]})
		}
		if len(decls) > 0 {
			decls[len(decls)-1].text += line + "\n"
		}
	}
	if len(decls) == 0 {
		t.Fatal("infra/main.bicep declares nothing")
	}
	return decls
}

// bicepAppSettings returns the names in the function app's appSettings.
func bicepAppSettings(t *testing.T, decls []bicepDecl) map[string]bool {
	t.Helper()
	setting := regexp.MustCompile(`\{ name: '([^']+)', value: `)
	names := map[string]bool{}
	for _, d := range decls {
		if d.kind != "resource" || !strings.Contains(d.text, "'Microsoft.Web/sites@") {
			continue
		}
		_, block, ok := strings.Cut(d.text, "appSettings: [")
		if !ok {
			t.Fatalf("resource %s has no appSettings", d.name)
		}
		block, _, _ = strings.Cut(block, "\n      ]")
		for _, m := range setting.FindAllStringSubmatch(block, -1) {
			names[m[1]] = true
		}
	}
	if len(names) == 0 {
		t.Fatal("infra/main.bicep sets no app settings on a Microsoft.Web/sites resource")
	}
	return names
}

// TestBicepSetsEverySetting checks the function app's settings against
// config.Keys: every setting without a default is set by the Bicep or named
// here as one a deployment may leave out, with the reason; settings the
// functions' bindings read are set even though the app has a default; no
// setting Flex Consumption refuses is set; and the Bicep sets nothing the
// app does not know.
func TestBicepSetsEverySetting(t *testing.T) {
	set := bicepAppSettings(t, bicepDecls(t))
	optional := map[string]string{
		"AzureWebJobsStorage":    "the Bicep uses the identity-based AzureWebJobsStorage__* settings instead",
		"STORAGE_PREFIX":         "one environment per storage account needs no prefix",
		"AZURE_TENANT_ID":        "only with GRAPH_AUTH=client-secret, a developer's setting",
		"AZURE_CLIENT_SECRET":    "only with GRAPH_AUTH=client-secret, a developer's setting",
		"DEFAULT_USAGE_LOCATION": "empty skips members without a usage location; setting it also needs User.ReadWrite.All",
	}
	// The bindings read %ACTIVATION_QUEUE% and %WORK_QUEUE%: the host has no
	// default for them.
	mustSet := map[string]bool{"ACTIVATION_QUEUE": true, "WORK_QUEUE": true}
	// Flex Consumption takes the runtime from functionAppConfig and refuses
	// the app setting.
	mustNotSet := map[string]bool{"FUNCTIONS_WORKER_RUNTIME": true}
	known := map[string]bool{
		"APPLICATIONINSIGHTS_CONNECTION_STRING":     true,
		"APPLICATIONINSIGHTS_AUTHENTICATION_STRING": true,
	}
	for _, k := range config.Keys {
		known[k.Name] = true
		switch {
		case k.Owner == "platform":
		case mustNotSet[k.Name]:
			if set[k.Name] {
				t.Errorf("infra/main.bicep sets %s, which Flex Consumption refuses (the runtime is in functionAppConfig)", k.Name)
			}
		case set[k.Name]:
		case mustSet[k.Name]:
			t.Errorf("infra/main.bicep does not set %s, which the functions' bindings read", k.Name)
		case k.Default != "":
		case optional[k.Name] != "":
		default:
			t.Errorf("infra/main.bicep does not set %s, which has no default: set it, or add it to this test's optional settings with the reason", k.Name)
		}
	}
	for name := range set {
		if !known[name] {
			t.Errorf("infra/main.bicep sets %s, which is not in config.Keys", name)
		}
	}
	for name := range optional {
		if set[name] {
			t.Errorf("%s is listed as optional but infra/main.bicep sets it: take it off the list", name)
		}
	}
}

// requiredParams returns the Bicep parameters without a default value.
func requiredParams(decls []bicepDecl) (required []string, all map[string]bool) {
	all = map[string]bool{}
	for _, d := range decls {
		if d.kind != "param" {
			continue
		}
		all[d.name] = true
		first, _, _ := strings.Cut(d.text, "\n")
		if !strings.Contains(first, "=") {
			required = append(required, d.name)
		}
	}
	return required, all
}

// TestParametersMapEveryRequiredParameter checks that main.parameters.json,
// which azd fills from its environment, gives every required parameter a
// value, maps nothing the Bicep does not declare, and that each environment
// variable it reads is explained in docs/deploy.md; and that the README's
// az command names every required parameter.
func TestParametersMapEveryRequiredParameter(t *testing.T) {
	required, declared := requiredParams(bicepDecls(t))
	if len(required) == 0 {
		t.Fatal("infra/main.bicep has no required parameter; the parsing is wrong")
	}
	raw, err := os.ReadFile("infra/main.parameters.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Parameters map[string]struct {
			Value any `json:"value"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("infra/main.parameters.json: %v", err)
	}
	for _, p := range required {
		if _, ok := file.Parameters[p]; !ok {
			t.Errorf("infra/main.parameters.json does not map the required parameter %s", p)
		}
	}
	guide, err := os.ReadFile("docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	envVar := regexp.MustCompile(`^\$\{([A-Z_]+)(=[^}]*)?\}$`)
	for name, p := range file.Parameters {
		if !declared[name] {
			t.Errorf("infra/main.parameters.json maps %s, which infra/main.bicep does not declare", name)
		}
		s, _ := p.Value.(string)
		m := envVar.FindStringSubmatch(s)
		if m == nil {
			t.Errorf("parameter %s is %q, not an azd environment variable ${NAME}", name, s)
			continue
		}
		if m[2] == "" && !strings.HasPrefix(m[1], "AZURE_") && !strings.Contains(string(guide), "azd env set "+m[1]) {
			t.Errorf("docs/deploy.md does not say to `azd env set %s` (parameter %s)", m[1], name)
		}
	}

	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var command string
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.Contains(line, "az deployment group create") {
			command = line
		}
	}
	if command == "" {
		t.Fatal("README.md has no `az deployment group create` command")
	}
	for _, p := range required {
		if !strings.Contains(command, " "+p+"=") {
			t.Errorf("the README's deploy command does not name the required parameter %s:\n%s", p, command)
		}
	}
}

// TestBicepGrantsTheIdentityItsRoles checks that the managed identity holds
// the data roles on the storage account (the app and the host use blobs,
// queues and tables) and Monitoring Metrics Publisher on Application
// Insights, without which telemetry sent with Entra ID authentication is
// refused.
func TestBicepGrantsTheIdentityItsRoles(t *testing.T) {
	decls := bicepDecls(t)
	want := []struct{ role, id, scope string }{
		{"Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "storage"},
		{"Storage Queue Data Contributor", "974c5e8b-45b9-4653-ba55-5f855dd0fb88", "storage"},
		{"Storage Table Data Contributor", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "storage"},
		{"Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb", "insights"},
	}
	for _, w := range want {
		// The role id appears in the assignment or in a variable it uses.
		uses := []*regexp.Regexp{regexp.MustCompile(regexp.QuoteMeta("'" + w.id + "'"))}
		for _, d := range decls {
			if d.kind == "var" && strings.Contains(d.text, "'"+w.id+"'") {
				uses = append(uses, regexp.MustCompile(`\b`+d.name+`\b`))
			}
		}
		found := false
		for _, d := range decls {
			if d.kind != "resource" || !strings.Contains(d.text, "'Microsoft.Authorization/roleAssignments@") ||
				!strings.Contains(d.text, "scope: "+w.scope+"\n") ||
				!strings.Contains(d.text, "principalId: identity.properties.principalId") {
				continue
			}
			for _, use := range uses {
				found = found || use.MatchString(d.text)
			}
		}
		if !found {
			t.Errorf("infra/main.bicep does not assign the identity %s (%s) on %s", w.role, w.id, w.scope)
		}
	}
}

// TestAzureYamlDeploysTheStagedPackage checks that azd builds the package
// with make stage, deploys the directory make stage writes, and finds the
// function app by the tag the Bicep sets.
func TestAzureYamlDeploysTheStagedPackage(t *testing.T) {
	raw, err := os.ReadFile("azure.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yaml := string(raw)
	makefile, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	dist := regexp.MustCompile(`(?m)^DIST\s*:=\s*(\S+)$`).FindSubmatch(makefile)
	if dist == nil {
		t.Fatal("the Makefile has no DIST")
	}
	for _, line := range []string{
		"infra:\n  provider: bicep\n  path: infra\n  module: main\n",
		"    host: function\n",
		"    language: custom\n",
		"    dist: " + string(dist[1]) + "\n",
		"      prepackage:\n",
		"        run: make stage\n",
	} {
		if !strings.Contains(yaml, line) {
			t.Errorf("azure.yaml lacks %q", line)
		}
	}
	service := regexp.MustCompile(`(?m)^services:\n  (\w+):\n`).FindStringSubmatch(yaml)
	if service == nil {
		t.Fatal("azure.yaml names no service")
	}
	bicep, err := os.ReadFile("infra/main.bicep")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(bicep), "tags: { 'azd-service-name': '"+service[1]+"' }") {
		t.Errorf("infra/main.bicep does not tag the function app azd-service-name: %s", service[1])
	}
	if !strings.Contains(string(bicep), "runtime: { name: 'custom', version: '1.0' }") {
		t.Error("infra/main.bicep does not run the function app as a custom handler (runtime custom 1.0)")
	}
}

// TestFunctionTimeoutWithinRunLease checks host.json's functionTimeout: set,
// within Flex Consumption's default of 30 minutes, and shorter than the
// lease a scheduled run holds, so a second copy never starts while the first
// may still be working.
func TestFunctionTimeoutWithinRunLease(t *testing.T) {
	raw, err := os.ReadFile("host.json")
	if err != nil {
		t.Fatal(err)
	}
	var host struct {
		FunctionTimeout string `json:"functionTimeout"`
	}
	if err := json.Unmarshal(raw, &host); err != nil {
		t.Fatal(err)
	}
	var h, m, s int
	if _, err := fmt.Sscanf(host.FunctionTimeout, "%d:%d:%d", &h, &m, &s); err != nil {
		t.Fatalf("functionTimeout %q is not hh:mm:ss", host.FunctionTimeout)
	}
	timeout := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
	if timeout <= 0 || timeout > 30*time.Minute {
		t.Errorf("functionTimeout %s: want at most Flex Consumption's default of 30m", timeout)
	}
	if timeout >= licensing.RunLease {
		t.Errorf("functionTimeout %s is not shorter than licensing.RunLease %s", timeout, licensing.RunLease)
	}
}
