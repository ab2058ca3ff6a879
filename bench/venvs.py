"""One virtualenv per contender under bench/.venvs/, made and kept by the bench itself.

A venv is rebuilt when its requirement list changes (a stamp file holds the list), and
the project's own when its pyproject.toml does.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import venv
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENVS = BENCH / ".venvs"

SERVER = ("uvicorn==0.54.0", "uvloop==0.23.0", "httptools==0.9.0")

# venv name -> pip arguments
REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "floor": SERVER,
    "sdk": ("mcp==2.3.0", "mangum==0.22.0", *SERVER),
    # An SDK v1 app three ways in one venv (bench/adapters_coldstart.py).
    "sdk1": ("mcp==1.30.0", "mangum==0.22.0", "-e", str(ROOT)),
    "fastmcp": ("fastmcp==4.2.3", *SERVER),
    "cloudmcp": ("-e", f"{ROOT}[redis]", *SERVER),
    "tools": ("matplotlib>=3.8,<4", "py-spy>=0.4,<1"),
}


def python(name: str) -> Path:
    return VENVS / name / "bin" / "python"


def ensure(name: str, log: Path) -> Path:
    """Create or refresh the venv `name`; return its interpreter."""
    wanted = "\n".join(REQUIREMENTS[name])
    if "-e" in REQUIREMENTS[name]:  # the project itself: its dependencies may change
        wanted += (
            "\npyproject " + hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
        )
    home = VENVS / name
    stamp = home / "bench-requirements.txt"
    if stamp.exists() and stamp.read_text() == wanted and python(name).exists():
        return python(name)
    print(f"  venv {name}: installing {' '.join(REQUIREMENTS[name])}", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    pip = [str(python(name)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    with log.open("a") as out:
        subprocess.run([*pip, *REQUIREMENTS[name]], check=True, stdout=out, stderr=out)
    stamp.write_text(wanted)
    return python(name)


def compile_bytecode(name: str) -> None:
    """Precompile every module the venv can import, as a Lambda package that ships .pyc would."""
    site = next((VENVS / name / "lib").glob("python3*/site-packages"))
    dirs = [site, BENCH / "apps"]
    if name == "cloudmcp":
        dirs.append(ROOT / "src")
    subprocess.run(
        [str(python(name)), "-m", "compileall", "-q", "-j", "0", *map(str, dirs)],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def version(name: str, package: str) -> str:
    """The installed version of `package` in venv `name`, or '-'."""
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    done = subprocess.run([str(python(name)), "-c", code], capture_output=True, text=True)
    return done.stdout.strip() or "-"


if __name__ == "__main__":
    for venv_name in sys.argv[1:] or REQUIREMENTS:
        ensure(venv_name, Path("/dev/stdout"))
