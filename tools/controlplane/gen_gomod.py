"""Write the wrapper go.mod that builds Kubernetes commands from the published k8s.io/kubernetes.

k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local paths
that do not exist in the module zip; we replace each with the published v0.<minor>.<patch>.
"""

import re
import sys


def main(kube_gomod: str, kube_version: str) -> str:
    text = open(kube_gomod, encoding="utf-8").read()
    staging = sorted(set(re.findall(r"^\s*(k8s\.io/[\w.-]+)\s*=>\s*\./staging/", text, re.M)))
    go_line = re.search(r"^go (\S+)$", text, re.M)
    godebug = re.findall(r"^godebug .*$", text, re.M)
    staging_version = "v0." + kube_version.removeprefix("v1.")
    lines = ["module gotk.local/kube", "", f"go {go_line.group(1) if go_line else '1.24.0'}", ""]
    lines += godebug + ([""] if godebug else [])
    lines += [f"require k8s.io/kubernetes {kube_version}", "", "replace ("]
    lines += [f"\t{mod} => {mod} {staging_version}" for mod in staging]
    lines += [")", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(main(sys.argv[1], sys.argv[2]))
