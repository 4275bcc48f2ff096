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
    """Installed versions of Python and the given distributions, read from package metadata.

    Parameters
    ----------
    names : iterable of str, optional
        Distribution names to look up (default :data:`PACKAGES`); ones not installed are skipped.

    Returns
    -------
    dict of str to str
        ``{"python": version, name: version, ...}``.
    """
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def tool_version(tool: str) -> str | None:
    """Version of a command-line tool, parsed from the output of ``tool --version``.

    Parameters
    ----------
    tool : str
        Executable name looked up on ``PATH``.

    Returns
    -------
    str or None
        The first ``X.Y`` or ``X.Y.Z`` in its output; None when the tool is missing, fails to run,
        takes over 20 s or prints no version.
    """
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
    """The ``versions.yml`` text of one process: package versions plus the tools found.

    Parameters
    ----------
    process : str
        Nextflow process name, the top-level key.
    tools : iterable of str, optional
        Command-line tools to add; those whose version cannot be read are left out.

    Returns
    -------
    str
        YAML text ending with a newline.
    """
    vers = package_versions()
    for t in tools:
        v = tool_version(t)
        if v:
            vers[t] = v
    lines = [f'"{process}":'] + [f"    {k}: \"{v}\"" for k, v in vers.items()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    """Command line: ``python -m seq2func.versions PROCESS [--tool NAME ...]`` writes YAML to stdout.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when None. Exits with a usage line when empty.
    """
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
