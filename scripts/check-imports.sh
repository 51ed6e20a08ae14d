#!/usr/bin/env bash
# Checks the architecture rules of STYLE.md on the import graph:
#  - shared/licensing (the domain) imports no Azure, Graph or spreadsheet SDK
#    and no other package of this project;
#  - handlers imports the standard library and the domain only;
#  - only shared/graph imports msgraph-sdk-go or kiota (they cost minutes of
#    compile time and gigabytes of memory on a cold build);
#  - adapters do not import each other;
#  - no package is named shared, util, common, types, models or helpers, nor
#    after a standard library package;
#  - nothing but package main and shared/config reads the environment
#    (tests' own set-up excepted).
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)
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
        case "$imp" in "$mod/shared/licensing") ;; "$mod"/*|*.*/*) complain "$rel imports $imp: handlers import the standard library and the domain only";; esac ;;
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
  | grep -v '^\./shared/devkit/azuritetest/' | grep -v '^\./\.tools/' || true)

if [ "$fail" -ne 0 ]; then exit 1; fi
echo "imports: architecture rules hold"
