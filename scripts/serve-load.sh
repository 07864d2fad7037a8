#!/usr/bin/env bash
# Serve load (issue 19): one real `sandyq serve` process and 1,000 members syncing with it at
# once, each pushing 100 ops. The members are reporter homes in one sandyq-bench process (a
# thousand CLI processes would measure process start-up, not the server). Prints failed syncs,
# lost ops, whether the server's op set equals the union of everyone's, the round's time, the
# server's peak threads and memory, and what an idle connection costs it; exits 1 unless
# every sync succeeded, no op was lost and there is one digest. See RELIABILITY.md.
#
#   bash scripts/serve-load.sh                         # 1,000 members x 100 ops
#   bash scripts/serve-load.sh --peers 200 --ops 50    # a quick run
#   bash scripts/serve-load.sh --json FILE             # also keep the figures
#   bash scripts/serve-load.sh --debug ...             # the debug build, as CI runs it
#
# SWIFT_SCRATCH_PATH picks the build directory (default .build).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${SWIFT_SCRATCH_PATH:-.build}"
peers=1000 per=100 json="" max_peers=32 config=release
while [ $# -gt 0 ]; do
  case "$1" in
    --peers) peers="$2"; shift 2 ;;
    --ops) per="$2"; shift 2 ;;
    --max-peers) max_peers="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    --debug) config=debug; shift ;;
    *) echo "serve-load: unknown argument $1" >&2; exit 64 ;;
  esac
done
bash scripts/bootstrap.sh >/dev/null
swift build -c "$config" --scratch-path "$scratch" --product sandyq >/dev/null
swift build -c "$config" --scratch-path "$scratch" --product sandyq-bench >/dev/null
bin="$(swift build -c "$config" --scratch-path "$scratch" --show-bin-path)"
work=$(mktemp -d "${TMPDIR:-/tmp}/sandyq-serve-load.XXXXXX")
trap 'rm -rf "$work"' EXIT
out="$work/figures.json"
total=$((peers * per)); [ "$total" -ge 1000 ] || total=1000
SANDYQ_LOAD_PEERS="$peers" SANDYQ_LOAD_MAX_PEERS="$max_peers" \
  "$bin/sandyq-bench" --phase serve-load --work "$work" --ops "$total" > "$out"
[ -n "$json" ] && cp "$out" "$json"
exec python3 - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
v, info = r["values"], r["info"]
print(f"serve load: {v['peers']:.0f} members x {v['ops_per_peer']:.0f} ops, all syncing at once with one `sandyq serve`")
print(f"  setup: {v['setup_s']:.1f} s (homes, admissions), writes {v['write_s']:.1f} s")
print(f"  round: {v['round_s']:.1f} s; one sync: median {v['sync_median_s']:.1f} s, longest {v['sync_max_s']:.1f} s")
print(f"  failed syncs: {v['failed']:.0f}")
print(f"  lost ops: {v['lost']:.0f} (server holds {v['server_ops']:.0f}, members wrote {v['ops_written']:.0f})")
print(f"  one digest: {'yes' if v['one_digest'] == 1 else 'NO'} ({info.get('digest', '?')})")
print(f"  server threads: {v['server_threads_start']:.0f} at rest, {v['server_threads_idle']:.0f} with {v['idle_connections']:.0f} idle connections, peak {v['server_peak_threads']:.0f}")
print(f"  server memory: {v['server_start_rss_MiB']:.0f} MiB at rest, {v['idle_KiB_per_connection']:.2f} KiB per idle connection, peak {v['server_peak_rss_MiB']:.0f} MiB")
for k in sorted(info):
    if k.startswith("failure_"): print(f"  {k}: {info[k]}")
ok = v["failed"] == 0 and v["lost"] == 0 and v["one_digest"] == 1
sys.exit(0 if ok else 1)
PY
