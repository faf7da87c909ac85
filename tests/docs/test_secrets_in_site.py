"""No secret-looking string anywhere in the built site; the scanner is shown to catch planted ones."""

from __future__ import annotations

import base64
import json
import re
import secrets
from pathlib import Path

SECRET_PATTERNS = {
    "age secret key": r"AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}",
    "PEM private key": r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----",
    "bearer token": r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{20,}=*",
    "JWT": r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    "kubeconfig key data": r"(?:client-key-data|client-certificate-data|token):\s*[A-Za-z0-9+/=]{40,}",
}

COMPILED = {name: re.compile(pattern) for name, pattern in SECRET_PATTERNS.items()}
# kubeconfig and talosconfig carry PEM keys base64-encoded: "LS0tLS1CRUdJTi" is "-----BEGIN".
BASE64_PEM = re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/]+={0,2}")


def _base64_private_key(text: str) -> bool:
    for blob in BASE64_PEM.findall(text):
        decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=False).decode("ascii", "replace")
        if COMPILED["PEM private key"].search(decoded):
            return True
    return False


def scan(site_dir: Path) -> list[str]:
    """`file: kind` for each secret-looking string in any text file of the site."""
    hits = []
    for path in sorted(p for p in site_dir.rglob("*") if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images and fonts
        where = path.relative_to(site_dir).as_posix()
        hits += [f"{where}: {name}" for name, rx in COMPILED.items() if rx.search(text)]
        if _base64_private_key(text):
            hits.append(f"{where}: base64 PEM private key")
    return hits


def test_built_site_holds_no_secret_looking_string(site: Path):
    assert scan(site) == []


def planted_secrets() -> dict[str, str]:
    bech32 = "".join(secrets.choice("023456789ACDEFGHJKLMNPQRSTUVWXYZ") for _ in range(58))
    def b64url(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    jwt = f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{b64url({'sub': 'flux'})}.{secrets.token_urlsafe(32)}"
    pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI...\n-----END EC PRIVATE KEY-----\n"
    return {
        "age.html": f"<code>AGE-SECRET-KEY-1{bech32}</code>",
        "pem.html": f"<pre>{pem}</pre>",
        "kubeconfig.html": f"<pre>client-key-data: {base64.b64encode(pem.encode()).decode()}</pre>",
        "bearer.html": f"<pre>Authorization: Bearer {secrets.token_urlsafe(30)}</pre>",
        "jwt.json": json.dumps({"text": jwt}),
    }


def test_scanner_finds_each_planted_secret(tmp_path):
    for name, content in planted_secrets().items():
        (tmp_path / name).write_text(content)
    hits = scan(tmp_path)
    assert "age.html: age secret key" in hits
    assert "pem.html: PEM private key" in hits
    assert "kubeconfig.html: base64 PEM private key" in hits
    assert "kubeconfig.html: kubeconfig key data" in hits
    assert "bearer.html: bearer token" in hits
    assert "jwt.json: JWT" in hits


def test_scanner_ignores_the_documented_key_prefix_and_placeholders(tmp_path):
    (tmp_path / "docs.html").write_text(
        "the line that starts with <code>AGE-SECRET-KEY-</code>; age: age1REPLACE-WITH-YOUR-PUBLIC-KEY")
    assert scan(tmp_path) == []
