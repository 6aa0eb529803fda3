"""Fetch the JavaScript the rendered book serves itself (standard library only).

Reads ``manifest.json`` beside this file; for each npm package listed there it

1. downloads the package tarball at the pinned version (``npm pack`` when npm is on
   the PATH, else the registry's tarball URL with urllib),
2. checks the tarball against the manifest's npm ``integrity`` value (SHA-512),
3. extracts only the listed files into ``vendor/<dest>/``, and
4. records the SHA-256 of every extracted file in ``vendor/<dest>/.fetched.json``.

A package whose files are all present with the recorded hashes, fetched for the same
name, version, integrity and file list, is skipped, so ``make book`` can run this every
time. Usage::

    python book/_assets/fetch.py           # fetch what is missing or out of date
    python book/_assets/fetch.py --check   # only say whether vendor/ is up to date
    python book/_assets/fetch.py --force   # fetch everything again
"""

import argparse
import base64
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
VENDOR = HERE / "vendor"
STAMP = ".fetched.json"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp_key(package):
    return {key: package[key] for key in ("name", "version", "integrity", "files")}


def is_up_to_date(package, vendor):
    """Whether ``vendor/<dest>`` holds exactly what ``package`` asks for, unchanged."""
    dest = vendor / package["dest"]
    try:
        stamp = json.loads((dest / STAMP).read_text())
    except (OSError, ValueError):
        return False
    if stamp.get("package") != _stamp_key(package) or not stamp.get("sha256"):
        return False
    return all(
        (dest / relative).is_file() and _sha256(dest / relative) == digest
        for relative, digest in stamp["sha256"].items()
    )


def _download(package, workdir):
    """Return the bytes of the package's tarball."""
    spec = f"{package['name']}@{package['version']}"
    npm = shutil.which("npm")
    if npm:
        result = subprocess.run(
            [npm, "pack", spec, "--pack-destination", str(workdir), "--silent"],
            cwd=workdir, capture_output=True, text=True, check=False,
        )
        tarballs = sorted(workdir.glob("*.tgz"))
        if result.returncode == 0 and len(tarballs) == 1:
            return tarballs[0].read_bytes()
        print(f"  npm pack {spec} failed ({result.stderr.strip()[-300:]}); "
              "trying the registry URL", file=sys.stderr)
    with urllib.request.urlopen(package["tarball"], timeout=120) as response:
        return response.read()


def _check_integrity(package, data):
    algorithm, _, expected = package["integrity"].partition("-")
    if algorithm not in {"sha512", "sha384", "sha256"}:
        raise ValueError(f"{package['name']}: unsupported integrity algorithm {algorithm!r}")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise ValueError(
            f"{package['name']}@{package['version']}: tarball integrity "
            f"{algorithm}-{actual} does not match the manifest's {package['integrity']}"
        )


def _extract(package, data, workdir):
    """Extract the listed files into a fresh folder under ``workdir`` and return it."""
    staging = workdir / "staging"
    staging.mkdir()
    archive_path = workdir / "package.tgz"
    archive_path.write_bytes(data)
    matched = {pattern: 0 for pattern in package["files"]}
    with tarfile.open(archive_path, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            parts = PurePosixPath(member.name).parts
            # npm tarballs keep everything under one top folder, usually "package/".
            relative = PurePosixPath(*parts[1:]) if len(parts) > 1 else None
            if relative is None or ".." in relative.parts or relative.is_absolute():
                continue
            patterns = [p for p in matched if fnmatch.fnmatchcase(str(relative), p)]
            if not patterns:
                continue
            for pattern in patterns:
                matched[pattern] += 1
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.extractfile(member) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
    unmatched = [pattern for pattern, count in matched.items() if count == 0]
    if unmatched:
        raise ValueError(
            f"{package['name']}@{package['version']}: no file in the package matches "
            f"{unmatched}; check the manifest's file list"
        )
    return staging


def fetch(package, vendor):
    """Download, check and extract one package into ``vendor/<dest>``."""
    dest = vendor / package["dest"]
    with tempfile.TemporaryDirectory(prefix="book-assets-") as tmp:
        workdir = Path(tmp)
        data = _download(package, workdir)
        _check_integrity(package, data)
        staging = _extract(package, data, workdir)
        digests = {
            path.relative_to(staging).as_posix(): _sha256(path)
            for path in sorted(staging.rglob("*")) if path.is_file()
        }
        (staging / STAMP).write_text(
            json.dumps({"package": _stamp_key(package), "sha256": digests}, indent=1) + "\n"
        )
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), str(dest))
    return len(digests)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only check; exit 1 when something is missing or out of date")
    parser.add_argument("--force", action="store_true", help="fetch every package again")
    parser.add_argument("--vendor", type=Path, default=VENDOR,
                        help="folder to extract into (default: vendor/ beside this script)")
    args = parser.parse_args(argv)

    packages = json.loads(MANIFEST.read_text())["packages"]
    dests = [package["dest"] for package in packages]
    if len(set(dests)) != len(dests):
        parser.error(f"{MANIFEST.name}: two packages share a dest folder: {dests}")
    stale = 0
    for package in packages:
        spec = f"{package['name']}@{package['version']}"
        if not args.force and is_up_to_date(package, args.vendor):
            print(f"book assets: {spec} is up to date")
            continue
        stale += 1
        if args.check:
            print(f"book assets: {spec} is missing or out of date")
            continue
        try:
            count = fetch(package, args.vendor)
        except (OSError, ValueError, subprocess.SubprocessError, tarfile.TarError) as error:
            print(f"book assets: could not fetch {spec}: {error}", file=sys.stderr)
            return 1
        print(f"book assets: {spec}: {count} files -> "
              f"{os.path.relpath(args.vendor / package['dest'])}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
