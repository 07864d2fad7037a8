"""Writing a generator's vector files, or checking them (`--check`), the same way for every area."""
from __future__ import annotations

import sys
from pathlib import Path


def emit(out: Path, files: dict[str, str | bytes], check: bool, suffixes: tuple[str, ...] = (".txt",)) -> int:
    """Writes `files` into `out`, or with `check` compares them and writes nothing.

    Returns the exit status: with `check`, 1 when a file differs or `out` holds one this
    generator does not produce (a renamed vector left behind)."""
    stale = sorted(p.name for p in out.glob("*") if p.suffix in suffixes and p.name not in files) if out.exists() else []
    if check:
        def same(name: str, content: str | bytes) -> bool:
            p = out / name
            return p.exists() and (p.read_bytes() == content if isinstance(content, bytes) else p.read_text() == content)
        bad = [n for n, c in files.items() if not same(n, c)]
        for n in bad + stale:
            print(f"differs: {n}", file=sys.stderr)
        return 1 if bad or stale else 0
    out.mkdir(parents=True, exist_ok=True)
    for name in stale:
        print(f"note: {name} is not produced by this generator", file=sys.stderr)
    for name, content in sorted(files.items()):
        if isinstance(content, bytes):
            (out / name).write_bytes(content)
        else:
            (out / name).write_text(content)
    print(f"wrote {len(files)} files to {out}")
    return 0


def run(out: Path, generate, suffixes: tuple[str, ...] = (".txt",)) -> None:
    """The command line of a generator with no options but `--check`: writes or checks, then exits."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    sys.exit(emit(out, generate(), ap.parse_args().check, suffixes))
