#!/usr/bin/env python3
"""Build the demo corpus corpus/demo/ from text that Debian packages install.

Eight documents from four clearly different domains, two each:
  scripture  - King James Bible (bible-kjv-text, read through the `bible` program of bible-kjv)
  epigrams   - fortune cookies (fortunes-min)
  legal      - software licences (/usr/share/common-licenses, package base-files)
  code       - Python standard-library source (libpython3.X-minimal / -stdlib)
Every document is at least MIN_BYTES of UTF-8 text (far more than 4096 tokens
under SmolLM2's tokenizer). Nothing is fetched from the network. The manifest
(manifest.json; not a .md/.txt file, so the corpus loader skips it) names each document's source, the Debian
package and version it came from, its size and SHA-256.

Usage: scripts/build_demo_corpus.py [OUT_DIR]   (default: <repo>/corpus/demo)
Idempotent: the folder is rebuilt from scratch in a temporary folder and
swapped in, so an interrupted build never leaves a half-built corpus.
"""
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

MIN_BYTES = 24 * 1024
MAX_BYTES = 96 * 1024  # keep the corpus small; only the first window is read by default


def die(msg):
    sys.stderr.write(f"build_demo_corpus: error: {msg}\n")
    sys.exit(1)


def deb_package(path):
    """(package, version) owning PATH, or (None, None) if dpkg does not know it."""
    try:
        out = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True, check=True).stdout
        pkg = out.split(":")[0].strip()
        ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True,
                             check=True).stdout.strip()
        return pkg, ver
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None, None


def read_text(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def kjv(book_spec, title):
    """Verses from the `bible` program, one paragraph per chapter."""
    exe = shutil.which("bible")
    if not exe:
        die("the `bible` program is missing: install the Debian packages bible-kjv and bible-kjv-text")
    out = subprocess.run([exe, "-f", book_spec], capture_output=True, text=True, check=True,
                         stdin=subprocess.DEVNULL).stdout
    chapters = {}
    order = []
    for line in out.splitlines():
        m = re.match(r"^[1-3]?[A-Za-z]+(\d+):(\d+) (.*)$", line)
        if not m:
            continue
        ch = int(m.group(1))
        if ch not in chapters:
            chapters[ch] = []
            order.append(ch)
        chapters[ch].append(m.group(3).strip())
    if not order:
        die(f"`bible -f {book_spec}` printed no verses")
    parts = [title, ""]
    for ch in order:
        parts.append(f"Chapter {ch}")
        parts.append("")
        parts.append(" ".join(chapters[ch]))
        parts.append("")
    src = "/usr/lib/bible.data"
    return "\n".join(parts), [src]


def fortunes(names):
    """Fortune cookies, separated by blank lines instead of '%'."""
    texts, srcs = [], []
    for name in names:
        path = f"/usr/share/games/fortunes/{name}"
        if not os.path.exists(path):
            die(f"{path} is missing: install the Debian package fortunes-min")
        cookies = [c.strip("\n") for c in read_text(path).split("\n%\n")]
        texts.append("\n\n".join(c for c in cookies if c.strip()))
        srcs.append(path)
    return "\n\n".join(texts) + "\n", srcs


def licences(names):
    texts, srcs = [], []
    for name in names:
        path = f"/usr/share/common-licenses/{name}"
        if not os.path.exists(path):
            die(f"{path} is missing (Debian package base-files)")
        texts.append(read_text(path))
        srcs.append(path)
    return "\n\n".join(texts), srcs


def python_stdlib_dir():
    # Debian's own Python, not a virtualenv or pyenv copy: the corpus must be the same on every Debian machine.
    cands = sorted(glob.glob("/usr/lib/python3.[0-9]*/argparse.py"),
                   key=lambda p: [int(x) for x in re.findall(r"python3\.(\d+)", p)])
    if not cands:
        die("no Python standard library under /usr/lib/python3.*: install the Debian package python3")
    return os.path.dirname(cands[-1])


def python_module(name):
    path = os.path.join(python_stdlib_dir(), name)
    if not os.path.exists(path):
        die(f"{path} is missing")
    return read_text(path), [path]


DOCUMENTS = [
    # (file name, domain, description, builder)
    ("scripture-genesis.txt", "scripture", "King James Bible, Genesis (narrative prose)",
     lambda: kjv("Genesis1:1-50:26", "The First Book of Moses, called Genesis")),
    ("scripture-psalms.txt", "scripture", "King James Bible, Psalms (poetry)",
     lambda: kjv("Psalms1:1-150:6", "The Book of Psalms")),
    ("epigrams-literature.txt", "epigrams", "Fortune cookies: literature quotations",
     lambda: fortunes(["literature"])),
    ("epigrams-fortunes-riddles.txt", "epigrams", "Fortune cookies: miscellaneous fortunes and riddles",
     lambda: fortunes(["fortunes", "riddles"])),
    ("legal-gpl3.txt", "legal", "GNU General Public License, version 3",
     lambda: licences(["GPL-3"])),
    ("legal-apache2-mpl2.txt", "legal", "Apache License 2.0 and Mozilla Public License 2.0",
     lambda: licences(["Apache-2.0", "MPL-2.0"])),
    ("code-argparse.py.txt", "code", "Python standard library: argparse.py",
     lambda: python_module("argparse.py")),
    ("code-difflib.py.txt", "code", "Python standard library: difflib.py",
     lambda: python_module("difflib.py")),
]


def truncate_utf8(text, limit):
    """At most LIMIT bytes, cut at a line boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    cut = data.rfind(b"\n", 0, limit)
    if cut <= 0:
        cut = limit
    return data[:cut].decode("utf-8", errors="ignore") + "\n"


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(root, "corpus", "demo")
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".demo-build-", dir=parent)
    os.chmod(tmp, 0o755)
    try:
        manifest = {"description": "Spectra demo corpus, assembled from text installed by Debian packages; "
                                   "nothing was fetched from the network.",
                    "builder": "scripts/build_demo_corpus.py",
                    "note": "Documents are plain UTF-8 text (.txt); the Python sources carry a .py.txt suffix "
                            "so that the corpus loader (which reads *.txt, *.md, *.jsonl, *.tokens) reads them.",
                    "documents": []}
        for fname, domain, desc, build in DOCUMENTS:
            text, sources = build()
            text = truncate_utf8(text, MAX_BYTES)
            data = text.encode("utf-8")
            if len(data) < MIN_BYTES:
                die(f"{fname}: only {len(data)} bytes from {sources}; need at least {MIN_BYTES}")
            with open(os.path.join(tmp, fname), "wb") as f:
                f.write(data)
            pkgs = []
            for s in sources:
                pkg, ver = deb_package(s)
                pkgs.append({"path": s, "package": pkg, "version": ver})
            manifest["documents"].append({"file": fname, "domain": domain, "description": desc,
                                          "sources": pkgs, "bytes": len(data),
                                          "sha256": hashlib.sha256(data).hexdigest()})
        with open(os.path.join(tmp, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        # Swap in atomically-ish: move the old folder aside, rename the new one, delete the old.
        old = None
        if os.path.exists(out_dir):
            old = tempfile.mkdtemp(prefix=".demo-old-", dir=parent)
            os.rename(out_dir, os.path.join(old, "demo"))
        os.rename(tmp, out_dir)
        tmp = None
        if old:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp and os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    total = sum(d["bytes"] for d in manifest["documents"])
    print(f"build_demo_corpus: {out_dir}: {len(manifest['documents'])} documents, {total} bytes")


if __name__ == "__main__":
    main()
