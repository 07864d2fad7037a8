#!/usr/bin/env bash
# Lints Sources, Tests and Fuzz/Sources with swift-format and .swift-format; exits non-zero on a finding.
#
# Rules turned off in .swift-format, because the code chooses otherwise:
#   DoNotUseSemicolons              short related statements share a line: `a += 1; b += 1`
#   OneVariableDeclarationPerLine   related bindings share a `let`: `let seed = ..., pk = ...`
#   OneCasePerLine                  small enums fit on one line
#   UseLetInEveryBoundCaseVariable  `case let .x(a, b)` binds once
#   OrderedImports                  imports go by layer (test framework, support, then modules), not alphabet
#   NeverForceUnwrap                a lookup of a key just inserted or checked is unwrapped with `!`
#   NeverUseForceTry                tests use `try!` on fixtures, and swift-format cannot tell Swift Testing files
#   UseEarlyExits                   `if case .x = v { return true } else { return false }` tests a case
#   NoLeadingUnderscores            lock-guarded storage is `_value` behind `value`
#   AllPublicDeclarationsHaveDocumentation, BeginDocumentationCommentWithOneLineSummary:
#                                   comments say why, and only where a name does not
# swift-format also compares each file with its own pretty-printed layout, and no setting turns that off.
# Its layout findings are dropped here: the code aligns continuation lines under the opening bracket
# and end-of-line comments in columns, which the pretty printer cannot produce (Indentation, AddLines,
# RemoveLine, Spacing, TrailingComma), and LineLength counts UTF-8 bytes, so Cyrillic and Kazakh
# strings count double. Trailing whitespace and tabs between tokens are still findings.
set -uo pipefail
cd "$(dirname "$0")/.."
dirs=(Sources Tests Fuzz/Sources)
out=$(swift format lint --recursive --parallel --configuration .swift-format "${dirs[@]}" 2>&1)
rc=$?
# A rule can report one place more than once; each finding is shown once.
findings=$(printf '%s\n' "$out" | grep -v -E ': (warning|error): \[(Indentation|AddLines|RemoveLine|Spacing|TrailingComma|LineLength)\]' \
    | grep -v '^$' | sort -u)
files=$(find "${dirs[@]}" -name '*.swift' | wc -l)
if [ -n "$findings" ]; then
    printf '%s\n' "$findings"
    echo "lint: FAILED, $(printf '%s\n' "$findings" | grep -c -E ': (warning|error):') finding(s) in $files files" >&2
    exit 1
fi
if [ "$rc" -ne 0 ]; then echo "lint: swift format exited $rc" >&2; exit "$rc"; fi
echo "lint: ok, $files files"
