"""SOPS decryption against files encrypted by the real `sops` binary (age and OpenPGP)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.sops_keys import AgeKey, PgpKey, SopsEncrypt
from gotk_api.kustomize import KustomizationSpec
from kustomize_controller.build import (
    BuildError,
    DecryptionError,
    DecryptionKeys,
    SopsDecryptor,
    build_kustomization,
    is_decryption_disabled,
    is_encrypted_secret,
)
from kustomize_controller.build.sops_formats import Format, SopsYamlLoader

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
stringData:
  password: hunter2
  port: "5432"
data:
  token: c2VjcmV0LXRva2Vu
"""
ENV_FILE = b"# database login\nUSER=admin\nPASS=s3cr3t\nMULTI=a\\nb\n"
DATA_ONLY = ["--encrypted-regex", "^(data|stringData)$"]


def spec(**fields: Any) -> KustomizationSpec:
    base = {
        "interval": "1m",
        "prune": True,
        "sourceRef": {"kind": "GitRepository", "name": "s"},
        "decryption": {"provider": "sops", "secretRef": {"name": "sops-keys"}},
    }
    return KustomizationSpec.model_validate({**base, **fields})


def age_keys(key: AgeKey) -> DecryptionKeys:
    return DecryptionKeys.from_secret_data({"identity.agekey": key.identity.encode()})


def load(data: bytes) -> dict[str, Any]:
    loaded = yaml.safe_load(data)
    assert isinstance(loaded, dict)
    return loaded


async def decrypt(keys: DecryptionKeys, obj: dict[str, Any]) -> dict[str, Any]:
    """Decrypt one object on its own. A build verifies each document's MAC before kustomize
    runs and refuses to decrypt one it did not verify (test_kustomize_build_sops_mac); here
    the decryption itself is under test, so that bookkeeping is off."""
    async with SopsDecryptor(keys, verify_mac=False) as decryptor:
        return await decryptor.decrypt_object(obj)


@pytest.mark.parametrize("args", [DATA_ONLY, []], ids=["data-only", "whole-object"])
async def test_age_encrypted_secret_object_is_decrypted(
    sops_encrypt: SopsEncrypt, age_key: AgeKey, args: list[str]
) -> None:
    encrypted = load(sops_encrypt(SECRET.encode(), ".yaml", age=[age_key.recipient], args=args))
    assert "ENC[" in encrypted["stringData"]["password"]
    # With everything encrypted, even apiVersion and kind are ciphertext.
    assert is_encrypted_secret(encrypted) is (args == DATA_ONLY)
    plain = await decrypt(age_keys(age_key), encrypted)
    assert plain == yaml.safe_load(SECRET)
    assert not is_encrypted_secret(plain)


async def test_pgp_encrypted_secret_object_is_decrypted(
    sops_encrypt: SopsEncrypt, pgp_key: PgpKey
) -> None:
    encrypted = load(
        sops_encrypt(SECRET.encode(), ".yaml", pgp=[pgp_key.fingerprint], args=DATA_ONLY)
    )
    keys = DecryptionKeys.from_secret_data({"sops.asc": pgp_key.armored_private})
    assert await decrypt(keys, encrypted) == yaml.safe_load(SECRET)


async def test_file_encrypted_for_two_recipients_opens_with_either(
    sops_encrypt: SopsEncrypt, age_key: AgeKey, other_age_key: AgeKey
) -> None:
    encrypted = load(
        sops_encrypt(SECRET.encode(), ".yaml", age=[age_key.recipient, other_age_key.recipient])
    )
    assert await decrypt(age_keys(other_age_key), encrypted) == yaml.safe_load(SECRET)


async def test_wrong_key_is_a_clear_error(
    sops_encrypt: SopsEncrypt, age_key: AgeKey, other_age_key: AgeKey
) -> None:
    encrypted = load(
        sops_encrypt(SECRET.encode(), ".yaml", age=[age_key.recipient], args=DATA_ONLY)
    )
    with pytest.raises(DecryptionError, match=r"Secret/db.*no matching private key") as info:
        await decrypt(age_keys(other_age_key), encrypted)
    assert info.value.reason == "BuildFailed"


async def test_decrypt_disabled_annotation_leaves_the_object_encrypted(
    sops_encrypt: SopsEncrypt, age_key: AgeKey
) -> None:
    annotated = SECRET.replace(
        "  name: db\n",
        "  name: db\n  annotations:\n    kustomize.toolkit.fluxcd.io/decrypt: disabled\n",
    )
    encrypted = load(
        sops_encrypt(annotated.encode(), ".yaml", age=[age_key.recipient], args=DATA_ONLY)
    )
    assert await decrypt(age_keys(age_key), encrypted) is encrypted


TYPED = """\
apiVersion: example.com/v1
kind: Settings
metadata:
  name: typed
spec:
  replicas: 3
  ratio: 0.25
  big: 1.0e+21
  whole: 2.0
  enabled: true
  disabled: false
  nothing: null
  empty: ""
  list: [1, two, 3.5, false]
  nested: {deep: {value: "x"}}
  kept_unencrypted: 7
  yaml11_bool: yes
  switch: on
  hex: 0x1F
"""


@pytest.mark.parametrize(
    "args",
    [[], ["--encrypted-regex", "^(ratio|list|nested)$"], ["--mac-only-encrypted"]],
    ids=["all", "regex", "mac-only-encrypted"],
)
async def test_typed_values_decrypt_and_pass_the_mac_check(
    tmp_path: Path, sops_encrypt: SopsEncrypt, age_key: AgeKey, args: list[str]
) -> None:
    encrypted = sops_encrypt(TYPED.encode(), ".yaml", age=[age_key.recipient], args=args)
    async with SopsDecryptor(age_keys(age_key)) as decryptor:
        plain = await decryptor.decrypt_file_data(encrypted, *_yaml_formats())
    as_sops_reads_it = SopsYamlLoader
    assert yaml.load(plain, Loader=as_sops_reads_it) == yaml.load(TYPED, Loader=as_sops_reads_it)


def _yaml_formats() -> tuple[Format, Format]:
    return Format.YAML, Format.YAML


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


async def test_build_decrypts_manifests_after_kustomize_rewrote_them(
    tmp_path: Path, sops_encrypt: SopsEncrypt, age_key: AgeKey
) -> None:
    write(
        tmp_path / "app" / "secret.yaml",
        sops_encrypt(SECRET.encode(), ".yaml", age=[age_key.recipient], args=DATA_ONLY),
    )
    write(tmp_path / "app" / "kustomization.yaml", "resources: [secret.yaml]\n")
    objects = await build_kustomization(
        tmp_path,
        spec(path="./app", targetNamespace="prod", namePrefix="p-"),
        decryption_keys=age_keys(age_key),
    )
    (secret,) = objects
    assert secret["metadata"] == {"name": "p-db", "namespace": "prod"}
    assert secret["stringData"]["password"] == "hunter2"
    assert "sops" not in secret


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("name: db", "name: evil"),  # an unencrypted value changed
        ("type: Opaque", "type: kubernetes.io/tls"),
    ],
)
async def test_tampered_encrypted_manifest_fails_the_mac_check(
    tmp_path: Path, sops_encrypt: SopsEncrypt, age_key: AgeKey, old: str, new: str
) -> None:
    encrypted = sops_encrypt(SECRET.encode(), ".yaml", age=[age_key.recipient], args=DATA_ONLY)
    write(tmp_path / "secret.yaml", encrypted.decode().replace(old, new))
    write(tmp_path / "kustomization.yaml", "resources: [secret.yaml]\n")
    with pytest.raises(
        DecryptionError, match=r"secret\.yaml: failed to verify sops data integrity"
    ):
        await build_kustomization(tmp_path, spec(), decryption_keys=age_keys(age_key))


async def test_removed_encrypted_value_fails_the_mac_check(
    tmp_path: Path, sops_encrypt: SopsEncrypt, age_key: AgeKey
) -> None:
    encrypted = load(
        sops_encrypt(SECRET.encode(), ".yaml", age=[age_key.recipient], args=DATA_ONLY)
    )
    del encrypted["stringData"]["port"]
    write(tmp_path / "secret.yaml", yaml.safe_dump(encrypted))
    write(tmp_path / "kustomization.yaml", "resources: [secret.yaml]\n")
    with pytest.raises(DecryptionError, match="MAC does not match"):
        await build_kustomization(tmp_path, spec(), decryption_keys=age_keys(age_key))


async def test_swapped_ciphertexts_fail_authentication(
    sops_encrypt: SopsEncrypt, age_key: AgeKey
) -> None:
    encrypted = load(
        sops_encrypt(SECRET.encode(), ".yaml", age=[age_key.recipient], args=DATA_ONLY)
    )
    string_data = encrypted["stringData"]
    string_data["password"], string_data["port"] = string_data["port"], string_data["password"]
    with pytest.raises(DecryptionError, match="failed authentication"):
        await decrypt(age_keys(age_key), encrypted)


async def test_secret_generator_sources_are_decrypted_before_the_build(
    tmp_path: Path, sops_encrypt: SopsEncrypt, age_key: AgeKey, pgp_key: PgpKey
) -> None:
    recipients = {"age": [age_key.recipient]}
    write(tmp_path / "app.env", sops_encrypt(ENV_FILE, ".env", **recipients))
    write(tmp_path / "config.yaml", sops_encrypt(b"token: abc\nlevel: 3\n", ".yaml", **recipients))
    write(
        tmp_path / "cert.txt",
        sops_encrypt(b"-----BEGIN CERT-----\n", ".txt", pgp=[pgp_key.fingerprint]),
    )
    write(tmp_path / "plain.txt", "not encrypted\n")
    write(
        tmp_path / "kustomization.yaml",
        "secretGenerator:\n"
        "  - name: gen\n"
        "    envs: [app.env]\n"
        "    files: [config.yaml, tls.crt=cert.txt, plain.txt]\n"
        "generatorOptions: {disableNameSuffixHash: true}\n",
    )
    keys = DecryptionKeys.from_secret_data(
        {
            "age.agekey": f"# created by a test\n{age_key.identity}\n".encode(),
            "pgp.asc": pgp_key.armored_private,
        }
    )
    (secret,) = await build_kustomization(tmp_path, spec(), decryption_keys=keys)
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data["USER"] == "admin"
    # sops writes newlines in dotenv values as `\n`; kustomize keeps them literally (as Flux).
    assert data["MULTI"] == "a\\nb"
    assert data["PASS"] == "s3cr3t"
    assert yaml.safe_load(data["config.yaml"]) == {"token": "abc", "level": 3}
    assert data["tls.crt"] == "-----BEGIN CERT-----\n"
    assert data["plain.txt"] == "not encrypted\n"


async def test_secret_data_value_holding_an_encrypted_file_is_decrypted(
    sops_encrypt: SopsEncrypt, age_key: AgeKey
) -> None:
    blob = sops_encrypt(
        b'{"auths": {"r.example": {"auth": "dXNlcjpwdw=="}}}', ".json", age=[age_key.recipient]
    )
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "pull", "namespace": "apps"},
        "data": {".dockerconfigjson": base64.b64encode(blob).decode(), "other": "eA=="},
    }
    plain = await decrypt(age_keys(age_key), secret)
    config = yaml.safe_load(base64.b64decode(plain["data"][".dockerconfigjson"]))
    assert config == {"auths": {"r.example": {"auth": "dXNlcjpwdw=="}}}
    assert plain["data"]["other"] == "eA=="


async def test_plain_objects_pass_through_unchanged(age_key: AgeKey) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}
    assert await decrypt(age_keys(age_key), cm) is cm


def test_invalid_age_key_in_the_secret_is_rejected() -> None:
    with pytest.raises(DecryptionError, match=r"'bad\.agekey'.*not an age identity"):
        DecryptionKeys.from_secret_data({"bad.agekey": b"AGE-SECRET-KEY-1NOTAKEY"}, secret="keys")


def test_keys_with_other_extensions_are_ignored(age_key: AgeKey) -> None:
    keys = DecryptionKeys.from_secret_data(
        {"x.agekey": age_key.identity.encode(), "notes.txt": b"hello", "sops.vault-token": b"t"}
    )
    assert keys.age_identities == (age_key.identity,)
    assert keys.pgp_private_keys == ()


async def test_generator_source_outside_the_root_is_refused(
    tmp_path: Path, age_key: AgeKey
) -> None:
    root = tmp_path / "artifact"
    write(tmp_path / "outside.env", "A=1\n")
    write(
        root / "kustomization.yaml", "secretGenerator:\n  - name: g\n    envs: [../outside.env]\n"
    )
    with pytest.raises(BuildError, match=r"envs\[0\] entry '\.\./outside\.env' points outside"):
        await build_kustomization(root, spec(), decryption_keys=age_keys(age_key))


def test_decrypt_disabled_annotation() -> None:
    def secret(annotations: dict[str, str] | None = None) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": "x"}
        if annotations:
            metadata["annotations"] = annotations
        return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata}

    off = secret({"kustomize.toolkit.fluxcd.io/decrypt": "Disabled"})
    assert is_decryption_disabled(off)
    assert not is_decryption_disabled(secret())
