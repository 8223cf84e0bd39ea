"""Every SOPS document that gets decrypted has had its MAC verified, whatever its name and
whatever route brought it into the build — files encrypted by the real `sops` binary.

Before, only files named `*.yaml/.yml/.json` reached through `resources`/`components` were
verified; a tampered `secret.enc`, or any file behind `bases`, was decrypted after the
build without its MAC checked. Now each route refuses a tampered file naming it, and an
encrypted object that reached kustomize in a way no file was verified for (an inline
patch) is refused rather than decrypted.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.sops_keys import AgeKey, SopsEncrypt
from gotk_api.kustomize import KustomizationSpec
from kustomize_controller.build import DecryptionError, DecryptionKeys, build_kustomization

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
stringData:
  password: hunter2
  user: admin
"""
DATA_ONLY = ["--encrypted-regex", "^(data|stringData)$"]
TAMPER = ("name: db", "name: evil")  # an unencrypted value the MAC covers


def spec(**fields: Any) -> KustomizationSpec:
    return KustomizationSpec.model_validate(
        {
            "interval": "1m",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "s"},
            "decryption": {"provider": "sops", "secretRef": {"name": "sops-keys"}},
            **fields,
        }
    )


def keys(age_key: AgeKey) -> DecryptionKeys:
    return DecryptionKeys.from_secret_data({"identity.agekey": age_key.identity.encode()})


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def encrypted(sops_encrypt: SopsEncrypt, age_key: AgeKey, *, suffix: str = ".yaml") -> str:
    plain = json.dumps(yaml.safe_load(SECRET)) if suffix == ".json" else SECRET
    return sops_encrypt(plain.encode(), suffix, age=[age_key.recipient], args=DATA_ONLY).decode()


def tampered(text: str) -> str:
    if '"name": "db"' in text:  # the JSON store
        return text.replace('"name": "db"', '"name": "evil"')
    assert TAMPER[0] in text
    return text.replace(*TAMPER)


# (route, the file holding the secret, files laying the route out, spec.path)
ROUTES = [
    (
        "a resource not named .yaml",
        "app/secret.enc",
        {"app/kustomization.yaml": "resources: [secret.enc]\n"},
        "app",
    ),
    (
        "a JSON-encrypted resource named .data",
        "app/secret.data",
        {"app/kustomization.yaml": "resources: [secret.data]\n"},
        "app",
    ),
    (
        "bases",
        "base/secret.yaml",
        {
            "base/kustomization.yaml": "resources: [secret.yaml]\n",
            "app/kustomization.yaml": "bases: [../base]\n",
        },
        "app",
    ),
    (
        "a base of a base",
        "base/secret.yaml",
        {
            "base/kustomization.yaml": "resources: [secret.yaml]\n",
            "middle/kustomization.yaml": "bases: [../base]\n",
            "app/kustomization.yaml": "resources: [../middle]\n",
        },
        "app",
    ),
    (
        "components",
        "component/secret.yaml",
        {
            "component/kustomization.yaml": (
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                "resources: [secret.yaml]\n"
            ),
            "app/kustomization.yaml": "components: [../component]\n",
        },
        "app",
    ),
    ("a generated kustomization", "app/secret.yaml", {}, "app"),
    (
        "patchesStrategicMerge",
        "app/secret-patch.yaml",
        {
            "app/base.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\n",
            "app/kustomization.yaml": (
                "resources: [base.yaml]\npatchesStrategicMerge: [secret-patch.yaml]\n"
            ),
        },
        "app",
    ),
]


def _lay_out(root: Path, files: dict[str, str], holder: str, secret: str) -> None:
    for name, text in files.items():
        write(root / name, text)
    write(root / holder, secret)


@pytest.mark.parametrize(
    ("holder", "files", "path"),
    [pytest.param(h, f, p, id=route) for route, h, f, p in ROUTES],
)
async def test_a_tampered_file_is_refused_whatever_its_route(
    tmp_path: Path,
    sops_encrypt: SopsEncrypt,
    age_key: AgeKey,
    holder: str,
    files: dict[str, str],
    path: str,
) -> None:
    suffix = ".json" if holder.endswith(".data") else ".yaml"
    _lay_out(tmp_path, files, holder, tampered(encrypted(sops_encrypt, age_key, suffix=suffix)))
    with pytest.raises(DecryptionError, match="failed to verify sops data integrity") as caught:
        await build_kustomization(tmp_path, spec(path=path), decryption_keys=keys(age_key))
    assert holder in str(caught.value)


@pytest.mark.parametrize(
    ("holder", "files", "path"),
    [pytest.param(h, f, p, id=route) for route, h, f, p in ROUTES],
)
async def test_the_same_file_untampered_is_decrypted(
    tmp_path: Path,
    sops_encrypt: SopsEncrypt,
    age_key: AgeKey,
    holder: str,
    files: dict[str, str],
    path: str,
) -> None:
    suffix = ".json" if holder.endswith(".data") else ".yaml"
    _lay_out(tmp_path, files, holder, encrypted(sops_encrypt, age_key, suffix=suffix))
    (secret,) = await build_kustomization(tmp_path, spec(path=path), decryption_keys=keys(age_key))
    assert secret["stringData"] == {"password": "hunter2", "user": "admin"}
    assert "sops" not in secret


async def test_an_encrypted_document_in_an_inline_patch_is_refused(
    tmp_path: Path, sops_encrypt: SopsEncrypt, age_key: AgeKey
) -> None:
    """No file holds it, so its MAC was never verified: it is not decrypted."""
    document = yaml.safe_load(encrypted(sops_encrypt, age_key))
    patch = yaml.safe_dump(document)
    write(tmp_path / "base.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n")
    write(
        tmp_path / "kustomization.yaml",
        yaml.safe_dump({"resources": ["base.yaml"], "patches": [{"patch": patch}]}),
    )
    with pytest.raises(DecryptionError, match=r"'Secret/db'.*not verified against its MAC"):
        await build_kustomization(tmp_path, spec(), decryption_keys=keys(age_key))


async def test_an_old_ciphertext_patched_into_a_verified_document_is_refused(
    tmp_path: Path, sops_binary: Path, sops_encrypt: SopsEncrypt, age_key: AgeKey
) -> None:
    """`sops set` keeps the data key: the previous password's ciphertext still decrypts at
    the same place. A patch putting it back under the current file's MAC would roll the
    password back unnoticed; it is refused, naming the file whose MAC it carries."""
    old = encrypted(sops_encrypt, age_key)
    new = _sops_set(sops_binary, age_key, old, '["stringData"]["password"]', '"rotated"')
    old_password = yaml.safe_load(old)["stringData"]["password"]
    write(tmp_path / "secret.yaml", new)
    rollback = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"password": old_password},
    }
    write(
        tmp_path / "kustomization.yaml",
        yaml.safe_dump(
            {"resources": ["secret.yaml"], "patches": [{"patch": yaml.safe_dump(rollback)}]}
        ),
    )
    with pytest.raises(DecryptionError, match=r"'Secret/db'.*not those of secret\.yaml"):
        await build_kustomization(tmp_path, spec(), decryption_keys=keys(age_key))

    write(tmp_path / "kustomization.yaml", "resources: [secret.yaml]\n")
    (secret,) = await build_kustomization(tmp_path, spec(), decryption_keys=keys(age_key))
    assert secret["stringData"]["password"] == "rotated"


def _sops_set(sops_binary: Path, age_key: AgeKey, text: str, where: str, value: str) -> str:
    with tempfile.TemporaryDirectory(prefix="gotk-sops-") as workdir:
        path = Path(workdir) / "secret.yaml"
        path.write_text(text)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": workdir,
            "SOPS_AGE_KEY": age_key.identity,
        }
        subprocess.run(
            [str(sops_binary), "set", str(path), where, value],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        return path.read_text()
