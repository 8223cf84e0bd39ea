#!/usr/bin/env bash
# Installs the Debian packages gotk's tests run (git, ssh, gpg, chromium, podman) when a command is missing.
set -euo pipefail

declare -A package_of=(
  [git]=git [ssh]=openssh-client [gpg]=gnupg [gpgconf]=gnupg [tar]=tar
  # The web UI's browser tests drive Debian's Chromium through Playwright.
  [chromium]=chromium
  # The images (tools/images/): podman on runc, base images made with mmdebstrap.
  [podman]=podman [runc]=runc [mmdebstrap]=mmdebstrap
)
missing=()
for command in "${!package_of[@]}"; do
  command -v "$command" >/dev/null || missing+=("${package_of[$command]}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "[setup] installing Debian packages: ${packages[*]}" >&2
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
