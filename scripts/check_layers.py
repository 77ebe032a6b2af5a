#!/usr/bin/env python3
"""Fails if a file of the runtime includes a layer above its own (run by .ci/run).

src/ has one folder per layer, listed below from the bottom up; a file may include headers of
its own layer and of the layers below it, and the public headers (include/goro/, the
interface every layer implements a part of). The public headers must not include src/.
"""
import pathlib
import re
import sys

LAYERS = ["base", "fiber", "goroutine", "timer", "diag", "poll", "sched", "chan", "sync", "time",
          "context", "xsync", "os", "io", "net"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    rank = {name: i for i, name in enumerate(LAYERS)}
    errors = []
    src = root / "src"
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".cpp", ".hpp", ".h", ".S"):
            continue
        layer = path.relative_to(src).parts[0]
        if layer not in rank:
            errors.append(f"{path.relative_to(root)}: folder {layer!r} is not a known layer "
                          f"(add it to LAYERS in scripts/check_layers.py)")
            continue
        for inc in INCLUDE.findall(path.read_text()):
            top = inc.split("/")[0]
            if top in rank and rank[top] > rank[layer]:
                errors.append(f"{path.relative_to(root)}: includes {inc} "
                              f"(layer {top} is above {layer})")
    for path in sorted((root / "include").rglob("*.hpp")):
        for inc in INCLUDE.findall(path.read_text()):
            if inc.split("/")[0] in rank:
                errors.append(f"{path.relative_to(root)}: a public header includes {inc}")
    for e in errors:
        print(e)
    if not errors:
        print(f"layers: {' < '.join(LAYERS)}: no include goes up")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
