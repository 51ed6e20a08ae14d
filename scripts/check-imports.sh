#!/usr/bin/env bash
# Checks the project's layering rules on the import graph:
#  - shared/licensing (the vocabulary) imports no Azure, Graph or spreadsheet
#    SDK and no other package of this project;
#  - the workflow packages (shared/intake, shared/ledger, shared/usage,
#    shared/provisioning, and every later workflow added to $workflows)
#    import the vocabulary and no SDK, and never each other: what two
#    workflows share belongs in the vocabulary;
#  - handlers imports the standard library, the vocabulary and the workflow
#    packages only;
#  - nothing outside shared/devkit imports the development kit (the host
#    harness, the demo tenant and tour, in-memory stores, fakes), so the
#    shipped binary links none of it; package main links it only in builds
#    tagged devkit, which go list does not see;
#  - only shared/graph imports msgraph-sdk-go or kiota (they cost minutes of
#    compile time and gigabytes of memory on a cold build);
#  - adapters do not import each other;
#  - no package is named shared, util, common, types, models or helpers, nor
#    after a standard library package;
#  - nothing but package main and shared/config reads the environment
#    (tests' own set-up, and the test kits azuritetest and browsertest,
#    excepted).
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)
workflows="shared/intake shared/ledger shared/usage shared/provisioning shared/renewals"
fail=0
complain() { echo "imports: $*" >&2; fail=1; }

std=" $(go list std | grep -v '/internal' | grep -v '^internal' | grep -v vendor | awk -F/ '{print $NF}' | sort -u | tr '\n' ' ') "

while read -r pkg name imports; do
  rel=${pkg#"$mod"}; rel=${rel#/}
  case " shared util common types models helpers " in *" $name "*) complain "$rel: package name '$name' says nothing; name it for what it is";; esac
  if [ "$rel" != "" ] && [ "$name" != "main" ] && [[ "$std" == *" $name "* ]]; then
    complain "$rel: package name '$name' shadows the standard library package"
  fi
  for imp in $imports; do
    case "$rel" in
      shared/licensing)
        case "$imp" in "$mod"/*|github.com/Azure/*|github.com/microsoft*|github.com/xuri/*) complain "$rel imports $imp: the domain imports no adapter or SDK";; esac ;;
      handlers)
        case " $workflows shared/licensing " in
          *" ${imp#"$mod"/} "*) ;;
          *) case "$imp" in "$mod"/*|*.*/*) complain "$rel imports $imp: handlers import the standard library, the vocabulary and the workflows only";; esac ;;
        esac ;;
    esac
    if [[ " $workflows " == *" $rel "* ]]; then
      case "$imp" in
        "$mod/shared/licensing") ;;
        "$mod"/*|*.*/*) complain "$rel imports $imp: a workflow imports the vocabulary (shared/licensing) and the standard library only";;
      esac
    fi
    case "$imp" in
      "$mod"/shared/devkit/*)
        case "$rel" in shared/devkit/*) ;; *) complain "$rel imports $imp: the development kit does not ship; only shared/devkit and tests use it";; esac ;;
    esac
    case "$imp" in
      github.com/microsoftgraph/*|github.com/microsoft/kiota*)
        case "$rel" in shared/graph) ;; *) complain "$rel imports $imp: only shared/graph may import the Graph SDK";; esac ;;
    esac
    case "$rel" in
      shared/tablestore|shared/blobstore|shared/queues|shared/graph|shared/xlsx|shared/mail*)
        case "$imp" in
          "$mod"/shared/tablestore|"$mod"/shared/blobstore|"$mod"/shared/queues|"$mod"/shared/graph|"$mod"/shared/xlsx|"$mod"/shared/mail*)
            [ "$imp" = "$pkg" ] || complain "$rel imports $imp: adapters do not import each other";;
        esac ;;
    esac
  done
done < <(go list -f '{{.ImportPath}} {{.Name}} {{join .Imports " "}}' ./...)

# Environment reads outside main and config (test set-up files excepted).
while IFS= read -r hit; do
  complain "$hit: read settings in shared/config, nowhere else"
done < <(grep -rn --include='*.go' -E 'os\.(Getenv|LookupEnv|Environ)\(' . \
  | grep -v '_test\.go:' | grep -v '^\./[^/]*\.go:' | grep -v '^\./shared/config/' \
  | grep -v '^\./shared/devkit/azuritetest/' | grep -v '^\./shared/devkit/browsertest/' | grep -v '^\./\.tools/' || true)

if [ "$fail" -ne 0 ]; then exit 1; fi
echo "imports: architecture rules hold"
