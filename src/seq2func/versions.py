"""Write the nf-core style ``versions.yml`` of a process: ``python -m seq2func.versions PROCESS``.

Versions are read from package metadata (no heavy imports), plus the Debian tools a process
names with ``--tool``.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata

PACKAGES = ("seq2func", "numpy", "pandas", "pysam", "pyfaidx", "pyBigWig", "torch", "scipy",
            "scikit-learn", "statsmodels", "jsonschema", "pyjaspar", "typer", "matplotlib", "pyarrow",
            "tangermeme", "modisco-lite", "memelite", "logomaker", "multiqc")


def package_versions(names=PACKAGES) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def tool_version(tool: str) -> str | None:
    if shutil.which(tool) is None:
        return None
    try:
        res = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=20,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"(\d+\.\d+(?:\.\d+)?)", res.stdout + res.stderr)
    return m.group(1) if m else None


def versions_yaml(process: str, tools=()) -> str:
    vers = package_versions()
    for t in tools:
        v = tool_version(t)
        if v:
            vers[t] = v
    lines = [f'"{process}":'] + [f"    {k}: \"{v}\"" for k, v in vers.items()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        sys.exit("usage: python -m seq2func.versions PROCESS [--tool NAME ...]")
    process, tools = argv[0], []
    rest = argv[1:]
    while rest:
        flag = rest.pop(0)
        if flag == "--tool" and rest:
            tools.append(rest.pop(0))
    sys.stdout.write(versions_yaml(process, tools))


if __name__ == "__main__":
    main()
