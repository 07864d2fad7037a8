#!/usr/bin/env bash
# Renders every HTML report in a real headless browser (Chromium from Debian's packages) and
# fails on any console message (a script error, a blocked resource, a CSP violation), on a
# page that does not render, or on a report that lacks what it must show. Also checks the
# Markdown, CSV and JSON forms parse, and takes screenshots at desktop and phone widths.
#
#   bash scripts/check-reports.sh                       # check; screenshots go to a temp dir
#   bash scripts/check-reports.sh --update-screenshot   # ... and refresh docs/dossier.png
#
# SANDYQ_BIN=/path/to/sandyq skips the build; SWIFT_SCRATCH=DIR builds with --scratch-path DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

update_screenshot=0
for a in "$@"; do
  case "$a" in
    --update-screenshot) update_screenshot=1 ;;
    *) echo "usage: $0 [--update-screenshot]" >&2; exit 64 ;;
  esac
done

# --- tools ---------------------------------------------------------------------------------
if ! command -v chromium >/dev/null 2>&1; then
  echo "check-reports: installing chromium (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y chromium >/dev/null || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
  else sudo apt-get install -y chromium >/dev/null || { sudo apt-get update >/dev/null && sudo apt-get install -y chromium >/dev/null; }
  fi
fi
command -v python3 >/dev/null 2>&1 || { echo "check-reports: python3 is needed to check the JSON and CSV" >&2; exit 1; }

if [ -n "${SANDYQ_BIN:-}" ]; then
  bin=$SANDYQ_BIN
else
  bash scripts/bootstrap.sh >/dev/null
  scratch=()
  [ -n "${SWIFT_SCRATCH:-}" ] && scratch=(--scratch-path "$SWIFT_SCRATCH")
  swift build "${scratch[@]}" --product sandyq >/dev/null
  bin="$(swift build "${scratch[@]}" --show-bin-path)/sandyq"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sandyq-reports.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SANDYQ_HOME="$work/home" SANDYQ_PASSPHRASE="check-reports passphrase"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok:   $*"; }

# --- a node with the seed cases and some history --------------------------------------------
"$bin" init --kdf interactive >/dev/null
"$bin" project create "Report check" >/dev/null
"$bin" case import seeds/cases.json >/dev/null
"$bin" case edit seed-10 --status detained --status-date 2019-02-20 >/dev/null
"$bin" case edit seed-10 --status sentenced --status-date 2019-06-14 --city "Ақтау" >/dev/null
"$bin" case event add seed-10 --type arrest --date 2019-02-20 --place "Ақтау" --description "Задержан по делу о «ДВК»." >/dev/null
"$bin" case event add seed-10 --type hearing --date 2019-05-30 --place "Ақтау" --description "Сот отырысы." >/dev/null
dup=$("$bin" case add --person "Aset Abishev" --title "Abishev, second entry" --json 2>"$work/dup.err" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
grep -q "probably the same person as in case" "$work/dup.err" || fail "re-adding Aset Abishev gave no duplicate warning"
"$bin" case event add "$dup" --type appeal --date 2019-09-10 --place "Aktau" --description "Appeal rejected." >/dev/null
"$bin" case merge seed-10 "$dup" >/dev/null

# --- render -----------------------------------------------------------------------------------
out="$work/out"; mkdir -p "$out"
"$bin" report dossier seed-10 --out "$out/dossier.html" 2>/dev/null
"$bin" report dossier seed-02 --out "$out/dossier-seed-02.html" 2>/dev/null
"$bin" report sanctions --out "$out/sanctions.html" 2>/dev/null
"$bin" report monitoring --out "$out/monitoring.html" 2>/dev/null
"$bin" report dossier seed-10 --format md --out "$out/dossier.md" 2>/dev/null
"$bin" report monitoring --format md --out "$out/monitoring.md" 2>/dev/null
"$bin" report monitoring --format json --out "$out/monitoring.json" 2>/dev/null
"$bin" report sanctions --format csv --out "$out/sanctions.csv" 2>/dev/null
"$bin" report sanctions --format json --out "$out/sanctions.json" 2>/dev/null
"$bin" export --format json --out "$out/export.json" 2>/dev/null
"$bin" export --format csv --out "$out/export.csv" 2>/dev/null
"$bin" report wgad seed-01 --out "$out/wgad.md" 2>/dev/null
"$bin" report wgad seed-01 --format json --out "$out/wgad.json" 2>/dev/null

chrome=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0
        --user-data-dir="$work/chrome-profile")

# Renders $1 and fails on a console message or an empty DOM; the DOM is left in $1.dom.
render() {
  local page=$1 err="$1.err"
  if ! "${chrome[@]}" --dump-dom "file://$page" >"$page.dom" 2>"$err"; then
    fail "chromium could not render $(basename "$page")"; return 1
  fi
  if grep -E "Uncaught|:CONSOLE|console\.(error|warn)" "$err" >/dev/null; then
    fail "console output while rendering $(basename "$page"):"; grep -E "Uncaught|:CONSOLE" "$err" >&2; return 1
  fi
  grep -q "</main>" "$page.dom" || { fail "$(basename "$page") rendered without its body"; return 1; }
  return 0
}

# The check must be able to fail: a page with a script error and a blocked stylesheet.
cat >"$work/control.html" <<'EOF'
<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'">
<link rel="stylesheet" href="https://example.org/x.css"></head><body><main></main><script>missingFunction();</script></body></html>
EOF
before=$failures
render "$work/control.html" 2>/dev/null || true
if [ "$failures" -eq "$before" ]; then
  fail "the console check missed a script error in the control page"
else
  failures=$before; ok "console check catches errors (control page)"
fi

expect() {  # expect FILE TEXT...: the rendered DOM contains each TEXT
  local f=$1; shift
  for t in "$@"; do grep -qF -- "$t" "$f.dom" || fail "$(basename "$f") lacks: $t"; done
}

for page in dossier dossier-seed-02 sanctions monitoring; do
  if render "$out/$page.html"; then ok "$page.html renders with no console output"; fi
  # Self-contained: no external resource of any kind.
  if grep -Eo '<(script|img|link|iframe|object|embed)[^>]*>' "$out/$page.html" | grep -q .; then fail "$page.html embeds an external resource"; fi
done
expect "$out/dossier.html" "Case dossier" "Досье по делу" "Әсет Әбішев" "Chain of custody" "Цепочка хранения" \
  "Status history" "Timeline" "Хронология" "Officials involved" "Sources" "Aid given" "Open conflicts" "Report date" \
  "Карім Масімов" "Aset Abishev" "Appeal rejected." "Merged from"
# The deeper model: seed-02's violations, detention and interventions, and its chronology.
expect "$out/dossier-seed-02.html" "Violations" "Нарушения" "Detention" "Interventions" "Chronology" "Хронология дела" \
  "2021/2544 (RSP)" "European Parliament" "denial of medical care"
expect "$out/sanctions.html" "Должностные лица, предлагаемые для персональных санкций" "Карім Масімов" "Гізат Нурдаулєтов" "Єрлан Тургумбаєв"
expect "$out/monitoring.html" "Monitoring report" "Мониторинговый отчёт" "By status" "By month"
# Every op id in the dossier's custody table is a full 64-hex id.
python3 - "$out/dossier.html" <<'EOF' || fail "dossier custody table has no full op ids"
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
section = html.split("Chain of custody", 1)[1]
ids = re.findall(r"<code>([0-9a-f]{64})</code>", section)
sys.exit(0 if len(ids) >= 4 else 1)
EOF

# --- the other formats parse ------------------------------------------------------------------
python3 - "$out" <<'EOF' || fail "a JSON or CSV report does not parse or lacks what it must hold"
import csv, io, json, sys
d = sys.argv[1]
s = json.load(open(f"{d}/sanctions.json", encoding="utf-8"))
names = [o["name"] for o in s["officials"]]
assert {"Карім Масімов", "Гізат Нурдаулєтов", "Єрлан Тургумбаєв"} <= set(names), names
assert all(o["caseCount"] == 13 for o in s["officials"][:3]), [o["caseCount"] for o in s["officials"]]
rows = list(csv.reader(io.StringIO(open(f"{d}/sanctions.csv", encoding="utf-8", newline="").read())))
assert rows[0][:2] == ["rank", "name"] and len(rows) == len(names) + 1, rows[0]
m = json.load(open(f"{d}/monitoring.json", encoding="utf-8"))
assert m["totalCases"] == 41 and sum(b["count"] for b in m["byStatus"]) == 41, m["totalCases"]
e = json.load(open(f"{d}/export.json", encoding="utf-8"))
assert e["format"] == "sandyq-cases/2" and len(e["cases"]) == 42
assert sum(len(c.get("acts", [])) for c in e["cases"]) >= 68, "the seeds' violations are exported"
w = json.load(open(f"{d}/wgad.json", encoding="utf-8"))
assert [s["number"] for s in w["sections"]] == ["I", "II", "III", "IV", "V", "VI"] and w["subject"] == "Макс Бокаев", w.get("subject")
t = open(f"{d}/wgad.md", encoding="utf-8").read()
assert "## II. Arrest" in t and "2021/2544 (RSP)" in t and "[to be completed" in t, t[:300]
assert sum(1 for c in e["cases"] if c.get("mergedInto")) == 1
x = list(csv.reader(io.StringIO(open(f"{d}/export.csv", encoding="utf-8", newline="").read())))
assert x[0][0] == "case_id" and len(x) > 500 and all(len(r) == len(x[0]) for r in x)
for md in ("dossier.md", "monitoring.md"):
    t = open(f"{d}/{md}", encoding="utf-8").read()
    assert t.startswith("# ") and "| --- |" in t, md
EOF
[ "$failures" -eq 0 ] && ok "Markdown, CSV and JSON forms parse and hold the seeds' officials, violations and the WGAD draft"

# --- screenshots --------------------------------------------------------------------------------
shots="$work/shots"; mkdir -p "$shots"
"${chrome[@]}" --window-size=1100,1900 --screenshot="$shots/dossier.png" "file://$out/dossier.html" >/dev/null 2>&1 || fail "no desktop screenshot"
"${chrome[@]}" --window-size=390,1600 --screenshot="$shots/dossier-phone.png" "file://$out/dossier.html" >/dev/null 2>&1 || fail "no phone screenshot"
"${chrome[@]}" --print-to-pdf="$shots/dossier.pdf" --no-pdf-header-footer "file://$out/dossier.html" >/dev/null 2>&1 || fail "no PDF print"
for f in dossier.png dossier-phone.png dossier.pdf; do
  size=$(stat -c %s "$shots/$f" 2>/dev/null || echo 0)
  [ "$size" -gt 20000 ] || fail "$f is missing or nearly empty ($size bytes)"
done
if [ "$update_screenshot" = 1 ] && [ "$failures" -eq 0 ]; then
  cp "$shots/dossier.png" docs/dossier.png
  ok "docs/dossier.png updated"
fi
if [ -n "${KEEP_REPORTS:-}" ]; then mkdir -p "$KEEP_REPORTS" && cp -r "$out"/. "$shots"/. "$KEEP_REPORTS"/; fi

if [ "$failures" -gt 0 ]; then echo "check-reports: $failures failure(s)" >&2; exit 1; fi
echo "check-reports: all reports render cleanly in $(chromium --version 2>/dev/null | head -1)"
