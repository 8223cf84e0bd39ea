"""Benchmark: compacting a Helm repository index vs loading it with PyYAML's C loader.

Generates a bitnami-like index.yaml of `--mb` MiB, then runs each loader in its own child
process (as the controller does) and reports wall seconds, CPU seconds and the child's
peak RSS, measured in the same run:

- gotk: `python -m source_controller.helm.index_worker` (split per chart, yaml_rs, keep
  only lookup fields, write the compact artifact);
- baseline: `yaml.load(..., Loader=yaml.CSafeLoader)` of the whole document.

It also times a chart lookup in the compact artifact in this process. Targets for 20 MiB:
< 2 s and < 200 MiB peak RSS on an idle core.

    uv run python bench/helm_index.py [--mb 20] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from source_controller.helm.index_lookup import find_chart_versions, select_chart_version

VERSIONS_PER_CHART = 200


def _entry(name: str, i: int) -> str:
    ver = f"{i // 100}.{(i // 10) % 10}.{i % 10}"
    digest = hashlib.sha256(f"{name}{ver}".encode()).hexdigest()
    return f"""\
  - annotations:
      category: Infrastructure
      images: |
        - name: {name}
          image: docker.io/bitnami/{name}:{ver}-debian-12-r{i}
      licenses: Apache-2.0
    apiVersion: v2
    appVersion: {ver}
    created: "2024-0{1 + i % 9}-1{i % 10}T16:23:20.499814565-06:00"
    dependencies:
    - name: common
      repository: oci://registry-1.docker.io/bitnamicharts
      tags:
      - bitnami-common
      version: 2.x.x
    description: {name} does things; this is a long description of version {ver} of it.
    digest: {digest}
    home: https://bitnami.com
    icon: https://bitnami.com/assets/stacks/{name}/img/{name}-stack-220x234.png
    keywords:
    - {name}
    - database
    maintainers:
    - name: Broadcom, Inc. All Rights Reserved.
      url: https://github.com/bitnami/charts
    name: {name}
    sources:
    - https://github.com/bitnami/charts/tree/main/bitnami/{name}
    urls:
    - https://charts.bitnami.com/bitnami/{name}-{ver}.tgz
    version: {ver}
"""


def make_index(path: Path, mib: int) -> tuple[int, int]:
    """Write an index of about `mib` MiB; return (charts, versions)."""
    target = mib << 20
    size = charts = versions = 0
    with path.open("w") as fh:
        fh.write("apiVersion: v1\nentries:\n")
        while size < target:
            name = f"chart{charts:04d}"
            charts += 1
            fh.write(f"  {name}:\n")
            for i in range(VERSIONS_PER_CHART):
                text = _entry(name, i)
                fh.write(text)
                size += len(text)
                versions += 1
                if size >= target:
                    break
        fh.write('generated: "2024-01-01T00:00:00Z"\n')
    return charts, versions


@dataclass
class Run:
    wall: float
    cpu: float
    peak_rss_mib: float


def run_child(argv: list[str]) -> Run:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[3:]} failed: {stderr}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def _rounded(run: Run) -> dict[str, float]:
    return {
        "wall_s": round(run.wall, 2),
        "cpu_s": round(run.cpu, 2),
        "peak_rss_mib": round(run.peak_rss_mib, 1),
    }


BASELINE = (
    "import sys, yaml\n"
    "with open(sys.argv[1], 'rb') as fh:\n"
    "    doc = yaml.load(fh, Loader=yaml.CSafeLoader)\n"
    "assert doc['entries']\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="write the files here instead of a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="helm-index-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        raw, out = work / "index.yaml", work / "index.json"
        charts, versions = make_index(raw, args.mb)
        py = [sys.executable, "-I", "-X", "utf8"]
        gotk = run_child([*py, "-m", "source_controller.helm.index_worker", str(raw), str(out)])
        baseline = run_child([*py, "-c", BASELINE, str(raw)])

        start = time.perf_counter()
        entries = find_chart_versions(out, f"chart{charts - 1:04d}")
        chosen = select_chart_version(entries, f"chart{charts - 1:04d}", ">=0.1.0 <1.0.0")
        lookup = time.perf_counter() - start

        report = {
            "index_mib": round(raw.stat().st_size / (1 << 20), 1),
            "charts": charts,
            "versions": versions,
            "compact_artifact_mib": round(out.stat().st_size / (1 << 20), 2),
            "gotk": _rounded(gotk),
            "pyyaml_c_loader": _rounded(baseline),
            "speedup_wall": round(baseline.wall / gotk.wall, 1),
            "speedup_cpu": round(baseline.cpu / gotk.cpu, 1),
            "rss_ratio": round(baseline.peak_rss_mib / gotk.peak_rss_mib, 1),
            "lookup_seconds": round(lookup, 4),
            "lookup_selected": chosen.version,
        }
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
