"""Benchmark: artifact packing (tar.gz + sha256) and safe extraction against baselines.

Baselines are measured in the same run on the same tree: GNU `tar czf` (gzip's default
level 6, the level gotk uses) followed by hashing its output, and Python's `tarfile`
used naively (`w:gz` + `add`). Extraction compares `extract_archive` with `tar xzf` and
`tarfile.extractall(filter="data")`. Ratios > 1 mean gotk is slower.

    uv run python bench/artifacts.py [--files 5000] [--mb 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gotk_artifacts.archive import build_archive
from gotk_artifacts.extract import ExtractLimits, extract_archive

YAML_LINE = "  - name: podinfo-{i}\n    image: ghcr.io/stefanprodan/podinfo:6.{i}.0\n"


def make_tree(root: Path, files: int, total_mb: int, seed: int = 7) -> int:
    """Nested dirs of mostly YAML-like text, plus some incompressible blobs."""
    rng = random.Random(seed)
    budget = total_mb << 20
    blobs = max(1, files // 50)
    blob_size = (budget // 2) // blobs
    text_size = (budget - blob_size * blobs) // (files - blobs)
    written = 0
    for i in range(files):
        d = root / f"team-{i % 17:02d}" / f"app-{i % 113:03d}"
        d.mkdir(parents=True, exist_ok=True)
        if i < blobs:
            data = rng.randbytes(blob_size)
            (d / f"blob-{i}.bin").write_bytes(data)
        else:
            reps = max(1, text_size // len(YAML_LINE.format(i=0)))
            text = "".join(YAML_LINE.format(i=(i * 31 + k) % 997) for k in range(reps))
            data = text.encode()
            (d / f"manifest-{i}.yaml").write_bytes(data)
        written += len(data)
    return written


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


Case = tuple[Callable[[], object], Callable[[], None]]
"""(the work to time, the reset run untimed before each sample)."""


def timed_round_robin(cases: dict[str, Case], repeat: int) -> dict[str, float]:
    """Median seconds per case; samples interleave so load swings hit every case alike."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, (fn, reset) in cases.items():
            reset()
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gotk-bench-artifacts-"))
    try:
        src = work / "src"
        size = make_tree(src, args.files, args.mb)
        out = work / "out"
        out.mkdir()
        gotk_tgz, tar_tgz, py_tgz = out / "gotk.tar.gz", out / "tar.tar.gz", out / "py.tar.gz"

        def rm(*paths: Path) -> Callable[[], None]:
            def reset() -> None:
                for p in paths:
                    if p.is_dir():
                        shutil.rmtree(p)
                    elif p.exists():
                        p.unlink()

            return reset

        def gotk_pack() -> None:
            build_archive(src, gotk_tgz)

        def tar_pack() -> None:
            subprocess.run(
                [
                    "tar",
                    "czf",
                    str(tar_tgz),
                    "--sort=name",
                    "--mtime=@0",
                    "--owner=0",
                    "--group=0",
                    "--numeric-owner",
                    "-C",
                    str(src),
                    ".",
                ],
                check=True,
            )
            sha256_file(tar_tgz)

        def py_pack() -> None:
            with tarfile.open(py_tgz, "w:gz", compresslevel=6) as tar:
                tar.add(src, arcname=".")
            sha256_file(py_tgz)

        pack = timed_round_robin(
            {
                "gotk build_archive": (gotk_pack, rm(gotk_tgz)),
                "tar czf + sha256": (tar_pack, rm(tar_tgz)),
                "tarfile w:gz + sha256": (py_pack, rm(py_tgz)),
            },
            args.repeat,
        )
        first = build_archive(src, out / "again1.tar.gz").digest
        second = build_archive(src, out / "again2.tar.gz").digest

        dest = work / "extracted"

        def gotk_extract() -> None:
            extract_archive(gotk_tgz, dest, limits=ExtractLimits(max_total_bytes=None))

        def tar_extract() -> None:
            dest.mkdir()
            subprocess.run(["tar", "xzf", str(gotk_tgz), "-C", str(dest)], check=True)

        def py_extract() -> None:
            with tarfile.open(gotk_tgz, "r:gz") as tar:
                tar.extractall(dest, filter="data")

        unpack = timed_round_robin(
            {
                "gotk extract_archive": (gotk_extract, rm(dest)),
                "tar xzf": (tar_extract, rm(dest)),
                "tarfile extractall(data)": (py_extract, rm(dest)),
            },
            args.repeat,
        )

        report = {
            "tree": {"files": args.files, "bytes": size},
            "archive_bytes": gotk_tgz.stat().st_size,
            "deterministic": first == second,
            "pack_seconds": pack,
            "pack_ratio_vs_tar": pack["gotk build_archive"] / pack["tar czf + sha256"],
            "pack_ratio_vs_tarfile": pack["gotk build_archive"] / pack["tarfile w:gz + sha256"],
            "extract_seconds": unpack,
            "extract_ratio_vs_tar": unpack["gotk extract_archive"] / unpack["tar xzf"],
            "extract_ratio_vs_tarfile": (
                unpack["gotk extract_archive"] / unpack["tarfile extractall(data)"]
            ),
        }
        packed_mb = gotk_tgz.stat().st_size / 1e6
        print(f"tree: {args.files} files, {size / 1e6:.1f} MB -> {packed_mb:.1f} MB")
        for name, secs in {**pack, **unpack}.items():
            print(f"  {name:28s} {secs:7.3f} s")
        for key in (
            "pack_ratio_vs_tar",
            "pack_ratio_vs_tarfile",
            "extract_ratio_vs_tar",
            "extract_ratio_vs_tarfile",
        ):
            print(f"  {key:28s} {report[key]:7.2f}x")
        print(f"  deterministic: {report['deterministic']}")
        print(json.dumps(report))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
