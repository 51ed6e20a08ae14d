#!/usr/bin/env bash
# Renders a demo agency's payroll report and the enterprise summary to PNG
# pages under out/render/, so a person can look at the layout and the chart
# without Excel. Installs LibreOffice (Calc) and poppler-utils from Debian's
# packages when they are missing. Run `make demo` first (make render does).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v soffice >/dev/null || need+=(libreoffice-calc)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  echo "render: installing ${need[*]} (Debian packages; a few minutes the first time)"
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

dir=$(ls -d out/payroll-* 2>/dev/null | sort | tail -n 1)
if [ -z "$dir" ]; then
  echo "render: no reports in out/; run make demo first" >&2
  exit 1
fi
agency=${RENDER_AGENCY:-DOT}
mkdir -p out/render
for f in "$dir/$agency.xlsx" "$dir/enterprise-summary.xlsx"; do
  [ -f "$f" ] || { echo "render: $f is missing" >&2; exit 1; }
  name=$(basename "$f" .xlsx)
  # A private profile keeps LibreOffice from touching the user's own.
  soffice --headless --norestore -env:UserInstallation=file://$PWD/out/render/.profile \
    --convert-to pdf --outdir out/render "$f" >/dev/null 2>&1
  pdftoppm -png -r 70 "out/render/$name.pdf" "out/render/$name"
  echo "render: out/render/$name-*.png ($(ls out/render/$name-*.png | wc -l) pages)"
done
