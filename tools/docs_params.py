#!/usr/bin/env python3
"""Regenerate the parameter tables of docs/usage.md from nextflow_schema.json (between markers).

    python3 tools/docs_params.py          # rewrite docs/usage.md
    python3 tools/docs_params.py --check  # exit 1 if docs/usage.md is out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- params:start -->", "<!-- params:end -->"


def tables() -> str:
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    order = [ref["$ref"].split("/")[-1] for ref in schema.get("allOf", [])]
    out = []
    for key in order:
        group = schema["definitions"][key]
        out.append(f"\n### {group.get('title', key)}\n")
        if group.get("description"):
            out.append(group["description"] + "\n")
        out.append("| parameter | type | default | description |\n| --- | --- | --- | --- |")
        for name, spec in group["properties"].items():
            typ = spec.get("type", "")
            if "enum" in spec:
                typ += ": " + " \\| ".join(map(str, spec["enum"]))
            default = spec.get("default")
            default = "" if default is None else f"`{default}`"
            out.append(f"| `--{name}` | {typ} | {default} | {spec.get('description', '')} |")
    return "\n".join(out) + "\n"


def render(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{tables()}{END}{tail}"


def main() -> int:
    path = ROOT / "docs" / "usage.md"
    text = path.read_text()
    if START not in text or END not in text:
        print(f"{path}: markers {START} / {END} missing", file=sys.stderr)
        return 1
    new = render(text)
    if "--check" in sys.argv:
        if new != text:
            print(f"{path} is out of date: run python3 tools/docs_params.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
