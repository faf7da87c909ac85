"""Real secret formats with fake values: each case names its format and where the format is defined.

`text` is what a tool or a file really prints (the layout of the upstream source named), with
random values; `bodies` are the parts that grant access: none of their 8-character pieces may
survive redaction anywhere. Fixed prefixes that only name the format (`ghp_`, `AGE-SECRET-KEY-1`,
`eyJhIjoi` of a tunnel token) are not part of a body: they are public and the docs quote them.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from dataclasses import dataclass

_random = random.Random(20261201)  # fixed: a failure names the same values on every run
BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def chars(alphabet: str, count: int) -> str:
    return "".join(_random.choice(alphabet) for _ in range(count))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def random_bytes(count: int) -> bytes:
    return bytes(_random.randrange(256) for _ in range(count))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def wrap(text: str, width: int) -> str:
    """Lines of exactly `width` characters, as `base64 -w` and PEM writers cut them."""
    return "\n".join(text[i:i + width] for i in range(0, len(text), width))


def putty_key(private_lines: str, mac: str = "5fae3c85e9cd737a7c92b1b3bbb838de6264cc6ef88b4cfa21a4ba6a7729627a") -> str:
    """A .ppk v3 file of an unencrypted ed25519 key, as puttygen writes it (public lines: a fixed public key)."""
    return (f"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: eddsa-key-20260314\nPublic-Lines: 2\n"
            f"AAAAC3NzaC1lZDI1NTE5AAAAIDkT7\nZXhhbXBsZQ==\nPrivate-Lines: {private_lines.count(chr(10)) + 1}\n"
            f"{private_lines}\nPrivate-MAC: {mac}\n")


def wrapped_from(text: str, width: int, offset: int) -> str:
    """`wrap(text, width)` from what was `text[offset]` on."""
    return wrap(text, width)[offset + offset // width:]


def pem(label: str, body_bytes: int = 120) -> tuple[str, str]:
    body = wrap(b64(random_bytes(body_bytes)), 64)
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----", body


@dataclass(frozen=True)
class Case:
    name: str
    source: str  # where the format is defined upstream
    text: str
    bodies: tuple[str, ...]

    @property
    def pieces(self) -> set[str]:
        """Every 8-character piece of every body (line breaks inside a body are not part of it)."""
        found = set()
        for body in self.bodies:
            for part in body.split("\n"):
                found |= {part[i:i + 8] for i in range(len(part) - 7)}
        return found


def _cases() -> list[Case]:
    cases = []

    def add(name: str, source: str, text: str, *bodies: str) -> None:
        cases.append(Case(name, source, text, bodies))

    age = chars(BECH32, 58)
    add("age secret key (age-keygen output)", "C2SP/C2SP age.md 'Native X25519 recipients and identities'",
        "# created: 2026-03-14T09:26:53Z\n"
        "# public key: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n"
        f"AGE-SECRET-KEY-1{age}", age)

    agekey = b64(f"AGE-SECRET-KEY-1{chars(BECH32, 58)}\n".encode())
    add("Flux sops-age Secret (kubectl get secret -o yaml)",
        "fluxcd/flux2 docs guides/mozilla-sops.md (sops-age Secret, key age.agekey)",
        f"apiVersion: v1\ndata:\n  age.agekey: {agekey}\nkind: Secret\nmetadata:\n  name: sops-age\n"
        "  namespace: flux-system\ntype: Opaque", agekey)

    value = b64(random_bytes(30))
    other = b64(random_bytes(18))
    add("Secret data, any key (kubectl get secret -o json)", "kubernetes/api core/v1 types.go Secret.Data",
        json.dumps({"apiVersion": "v1", "data": {"settings.conf": value, "x": other}, "kind": "Secret",
                    "metadata": {"name": "app", "namespace": "default"}, "type": "Opaque"}, indent=4),
        value, other)

    plain = chars(ALNUM, 24)
    add("Secret stringData (a manifest)", "kubernetes/api core/v1 types.go Secret.StringData",
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: webhook\nstringData:\n  url: {plain}\n", plain)

    first, second = b64(random_bytes(33)), b64(random_bytes(24))
    add("two Secrets in a List (kubectl get secrets -o yaml)", "kubernetes/api core/v1 types.go SecretList",
        "apiVersion: v1\nitems:\n- apiVersion: v1\n  data:\n    ca.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n"
        f"    settings.conf: {first}\n  kind: Secret\n  metadata:\n    name: app\n- apiVersion: v1\n  data:\n"
        f"    values.yaml: {second}\n  kind: Secret\n  metadata:\n    name: db\nkind: List\n", first, second)

    webhook = chars(ALNUM + "_-", 68)
    agekey_plain = chars(BECH32, 58)
    add("Secret stringData with a webhook URL and an age key (a manifest)",
        "kubernetes/api core/v1 types.go Secret.StringData; Alertmanager discord_configs webhook_url",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: alertmanager\nstringData:\n"
        f"  age.agekey: AGE-SECRET-KEY-1{agekey_plain}\n\n"
        f"  discord-url: https://discord.com/api/webhooks/1234567890/{webhook}\ntype: Opaque\n", webhook, agekey_plain)

    json_webhook, json_agekey = chars(ALNUM + "_-", 68), chars(BECH32, 58)
    add("Secret stringData in a JSON manifest", "kubernetes/api core/v1 types.go Secret.StringData",
        json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "alertmanager"},
                    "stringData": {"discord-url": f"https://discord.com/api/webhooks/1234567890/{json_webhook}",
                                   "age.agekey": f"AGE-SECRET-KEY-1{json_agekey}"}}, indent=2),
        json_webhook, json_agekey)

    cluster_secret, cluster_id = b64(random_bytes(32)), b64(random_bytes(32))
    bootstrap = f"{chars(LOWER_ALNUM, 6)}.{chars(LOWER_ALNUM, 16)}"
    secretbox, trustd = b64(random_bytes(32)), f"{chars(LOWER_ALNUM, 6)}.{chars(LOWER_ALNUM, 16)}"
    os_key = b64(pem("ED25519 PRIVATE KEY", 48)[0].encode())
    add("Talos secrets bundle (talosctl gen secrets)",
        "siderolabs/talos pkg/machinery/config/generate/secrets/bundle.go@4e5b4c6a (yaml: cluster.id/secret, "
        "secrets.bootstraptoken/secretboxencryptionsecret, trustdinfo.token, certs.os.key)",
        f"cluster:\n    id: {cluster_id}\n    secret: {cluster_secret}\nsecrets:\n    bootstraptoken: {bootstrap}\n"
        f"    secretboxencryptionsecret: {secretbox}\ntrustdinfo:\n    token: {trustd}\ncerts:\n    os:\n"
        f"        crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJQekNC\n        key: {os_key}\n",
        cluster_secret, bootstrap, secretbox, trustd, os_key[20:])

    machine_token = f"{chars(LOWER_ALNUM, 6)}.{chars(LOWER_ALNUM, 16)}"
    aescbc, ca_key = b64(random_bytes(32)), b64(pem("EC PRIVATE KEY", 96)[0].encode())
    add("Talos machine config (controlplane.yaml)",
        "siderolabs/talos pkg/machinery/config/types/v1alpha1 (machine.token, machine.ca.key, "
        "cluster.aescbcEncryptionSecret, cluster.secretboxEncryptionSecret)",
        f"machine:\n    type: controlplane\n    token: {machine_token}\n    ca:\n        key: {ca_key}\n"
        f"cluster:\n    aescbcEncryptionSecret: {aescbc}\n    secretboxEncryptionSecret: \"{secretbox[::-1]}\"\n",
        machine_token, ca_key[20:], aescbc, secretbox[::-1])

    client_key = b64(pem("RSA PRIVATE KEY", 200)[0].encode())
    talos_key = b64(pem("ED25519 PRIVATE KEY", 48)[0].encode())
    add("talosconfig (talosctl config)",
        "siderolabs/talos pkg/machinery/client/config/config.go (contexts.*.ca/crt/key)",
        f"context: home\ncontexts:\n    home:\n        endpoints:\n            - 192.0.2.10\n"
        f"        ca: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n        crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n"
        f"        key: {talos_key}\n", talos_key[20:])

    sa_token = ".".join((b64url(b'{"alg":"RS256","kid":"k1"}'), b64url(json.dumps({"sub": chars(ALNUM, 20)}).encode()),
                         b64url(random_bytes(64))))
    add("kubeconfig (talosctl kubeconfig)", "kubernetes/client-go tools/clientcmd/api/v1/types.go AuthInfo",
        f"users:\n- name: admin@home\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n"
        f"    client-key-data: {client_key}\n- name: ci\n  user:\n    token: {sa_token}\n",
        client_key[20:], sa_token.split(".", 1)[1])

    cf_token = chars(ALNUM + "_-", 40)
    add("Cloudflare API token (env)", "cloudflare/cloudflare-go env CLOUDFLARE_API_TOKEN; external-dns CF_API_TOKEN",
        f"CLOUDFLARE_API_TOKEN={cf_token}\nCF_API_EMAIL=admin@example.com", cf_token)

    tunnel_secret = random_bytes(32)
    tunnel = b64(json.dumps({"a": random_bytes(16).hex(), "t": str(uuid.UUID(bytes=random_bytes(16))),
                             "s": b64(tunnel_secret)}).encode())
    add("Cloudflare tunnel token", "cloudflare/cloudflared connection/connection.go TunnelToken (json a, t, s; base64)",
        f"cloudflared tunnel --no-autoupdate run --token {tunnel}\nTUNNEL_TOKEN={tunnel}", tunnel[8:])

    tunnel_json_secret = b64(random_bytes(32))
    add("Cloudflare tunnel credentials file", "cloudflare/cloudflared connection/connection.go Credentials",
        json.dumps({"AccountTag": random_bytes(16).hex(), "TunnelSecret": tunnel_json_secret,
                    "TunnelID": str(uuid.UUID(bytes=random_bytes(16)))}), tunnel_json_secret)

    ghp, pat, gho = chars(ALNUM, 36), f"{chars(ALNUM, 22)}_{chars(ALNUM, 59)}", chars(ALNUM, 36)
    add("GitHub tokens", "github.blog 2021-04-05 authentication token formats; fine-grained PATs github_pat_",
        f"GITHUB_TOKEN=ghp_{ghp}\nflux bootstrap github --token-auth  # token github_pat_{pat}\n"
        f"https://x-access-token:gho_{gho}@github.com/home/ops.git", ghp, pat, gho)

    aws_id, aws_secret = chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), chars(BASE64, 40)
    add("AWS credentials file", "AWS CLI docs cli-configure-files (aws_access_key_id, aws_secret_access_key)",
        f"[default]\naws_access_key_id = AKIA{aws_id}\naws_secret_access_key = {aws_secret}\nregion = eu-west-1",
        aws_id, aws_secret)

    slack = f"{_random.randrange(10**11, 10**12)}-{_random.randrange(10**12, 10**13)}-{chars(ALNUM, 24)}"
    add("Slack bot token", "Slack API docs authentication/token-types (xoxb-)",
        f"SLACK_BOT_TOKEN is xoxb-{slack} for alerts", slack)

    pgp, pgp_body = pem("PGP PRIVATE KEY BLOCK", 300)
    add("PGP private key (gpg --armor --export-secret-keys)", "RFC 4880 section 6.2 (ASCII armor)",
        pgp.replace("-----\n", "-----\n\n", 1), pgp_body)

    # Only the private lines grant access: Private-MAC is an HMAC over the file keyed by the
    # passphrase (empty when unencrypted), which tells nothing without them (tests/redaction/test_format_edges.py).
    putty_private = wrap(b64(random_bytes(120)), 64)
    add("PuTTY private key (.ppk v3)", "PuTTY documentation, appendix C 'PPK file format' (Private-Lines, Private-MAC)",
        putty_key(putty_private), putty_private)

    wg_private, wg_public = b64(random_bytes(32)), b64(random_bytes(32))
    add("WireGuard configuration (wg-quick)", "wireguard-tools src/man/wg.8 (PrivateKey, PublicKey: base64, 32 bytes)",
        f"[Interface]\nPrivateKey = {wg_private}\nListenPort = 51820\n\n[Peer]\nPublicKey = {wg_public}\n",
        wg_private)

    ssh, ssh_body = pem("OPENSSH PRIVATE KEY", 250)
    add("OpenSSH private key", "openssh-portable PROTOCOL.key", ssh, ssh_body)

    rsa, rsa_body = pem("RSA PRIVATE KEY", 300)
    add("PEM private key inside JSON (escaped newlines)", "RFC 7468 section 10 (PKCS #1 'RSA PRIVATE KEY')",
        json.dumps({"tls.key": rsa}), rsa_body)

    ceph = "AQ" + chars(BASE64, 36) + "=="
    add("Ceph keyring (ceph auth get client.admin)", "ceph/ceph doc/rados/operations/user-management.rst (keyring)",
        f"[client.admin]\n\tkey = {ceph}\n\tcaps mds = \"allow *\"\n\tcaps mon = \"allow *\"\n", ceph[2:])

    escaped = chars(ALNUM, 32)
    add("token inside JSON-escaped JSON", "RFC 8259 section 7 (escaped quotes in strings)",
        json.dumps(json.dumps({"auth": {"token": escaped}})), escaped)

    wrapped = ".".join((b64url(b'{"alg":"HS256","typ":"JWT"}'), b64url(json.dumps({"sub": chars(ALNUM, 40)}).encode()),
                        b64url(random_bytes(48))))
    add("JWT wrapped at 76 columns", "RFC 7519 section 3; RFC 2045 section 6.8 (76-column lines)",
        "id_token:\n" + wrap(wrapped, 76) + "\nend of token", wrapped.split(".", 1)[1])

    claims = {"aud": ["https://kubernetes.default.svc"], "exp": 1773480413, "iat": 1773476813,
              "iss": "https://kubernetes.default.svc", "kubernetes.io": {
                  "namespace": "flux-system", "serviceaccount": {"name": "kustomize-controller",
                                                                 "uid": str(uuid.UUID(bytes=random_bytes(16)))}},
              "sub": "system:serviceaccount:flux-system:kustomize-controller"}
    projected = ".".join((b64url(b'{"alg":"RS256","kid":"3Yq1"}'), b64url(json.dumps(claims).encode()),
                          b64url(random_bytes(256))))
    add("service-account token wrapped at 76 columns (kubectl create token | fold -w 76)",
        "kubernetes/api authentication/v1 TokenRequest; RFC 7519 section 3", wrap(projected, 76) + "\ndone",
        projected.split(".", 1)[1])

    basic = b64(f"flux:{chars(ALNUM, 20)}".encode())
    add("Basic authorization header", "RFC 7617 section 2",
        f"GET /api HTTP/1.1\nAuthorization: Basic {basic}\n", basic)

    url_password = chars(ALNUM, 20)
    add("credentials in a URL", "RFC 3986 section 3.2.1 (userinfo)",
        f"source: https://flux:{url_password}@git.example.com/home/ops.git", url_password)

    upper, quoted = chars(ALNUM + "!%", 18), chars(ALNUM, 22)
    add("upper-case labels", "dotenv files; detect-secrets KeywordDetector keywords",
        f"PASSWORD={upper}\nDB_PASSWORD: \"{quoted}\"\n", upper, quoted)

    registry = b64(f"flux:{chars(ALNUM, 24)}".encode())
    add("container registry credentials (~/.docker/config.json)",
        "docker/cli cli/config/configfile/file.go (auths.<registry>.auth: base64 user:password)",
        json.dumps({"auths": {"ghcr.io": {"auth": registry}}}, indent="\t"), registry)

    raw_age = b64(f"AGE-SECRET-KEY-1{chars(BECH32, 58)}".encode())
    add("a Secret value printed alone (kubectl get secret -o jsonpath)",
        "kubectl reference: jsonpath output of .data.<key> (base64, no label)", raw_age, raw_age[20:])

    # Flux's guide stores the whole age-keygen file in the Secret, comments first: the identity starts
    # 109 bytes in, where base64 spells it differently than at the start of a value.
    keys_file = (f"# created: 2026-03-14T09:26:53Z\n# public key: age1{chars(BECH32.lower(), 58)}\n"
                 f"AGE-SECRET-KEY-1{chars(BECH32, 58)}\n")
    keys_blob = b64(keys_file.encode())
    add("Flux sops-age key file printed alone (kubectl get secret sops-age -o jsonpath)",
        "fluxcd/flux2 docs guides/mozilla-sops.md (age-keygen -o age.agekey; --from-file=age.agekey=/dev/stdin)",
        keys_blob, keys_blob[keys_file.index("AGE-SECRET-KEY-1") // 3 * 4 + 24:])

    # The same file through `base64` (76 columns): the identity starts on the third line, and its
    # 74 characters never fit on one line of 57 bytes, so no line alone says it.
    wrapped_keys = wrap(keys_blob, 76)
    identity_at = keys_file.index("AGE-SECRET-KEY-1") // 3 * 4 + 24
    add("Flux sops-age key file wrapped at 76 columns (kubectl get secret ... | base64 -d | base64)",
        "fluxcd/flux2 docs guides/mozilla-sops.md; coreutils base64 (--wrap default 76)",
        f"{wrapped_keys}\n", wrapped_from(keys_blob, 76, identity_at))

    leaf, _ = pem("CERTIFICATE", 700)
    intermediate, _ = pem("CERTIFICATE", 900)
    combined_key, _ = pem("EC PRIVATE KEY", 121)
    combined = f"{leaf}\n{intermediate}\n{combined_key}\n"
    combined_blob = b64(combined.encode())
    add("certificate and key in one PEM, base64 (a Secret value printed alone)",
        "HAProxy configuration manual, bind option crt (one PEM file: the certificate chain, then the key)",
        combined_blob, combined_blob[combined.index("-----BEGIN EC") // 3 * 4 + 40:])

    # `openssl pkcs12 -nodes` output: the key's BEGIN line starts 5 bytes before the end of a line's
    # 57 bytes (its friendlyName is as long as that takes), so it is cut across two lines of base64.
    chain, _ = pem("CERTIFICATE", 702)
    chain_key, _ = pem("PRIVATE KEY", 90)
    head = f"{chain}\nBag Attributes\n    friendlyName: "
    name = "gateway-" + "x" * ((52 - len(head) - len("gateway-\n")) % 57)
    chain_pem = f"{head}{name}\n{chain_key}\n"
    assert chain_pem.index("-----BEGIN PRIVATE") % 57 == 52
    chain_blob = b64(chain_pem.encode())
    add("certificate and key in one PEM, base64 wrapped at 76 columns (tls.pem | base64)",
        "HAProxy configuration manual, bind option crt; coreutils base64 (--wrap default 76)",
        wrap(chain_blob, 76) + "\n", wrapped_from(chain_blob, 76, chain_pem.index("-----BEGIN PRIVATE") // 3 * 4 + 40))

    slack_token = chars(ALNUM, 24)
    slack_json = json.dumps({"receivers": [{"name": "slack", "slack_configs": [
        {"api_url": f"https://hooks.slack.com/services/T0{chars(ALNUM, 8)}/B0{chars(ALNUM, 8)}/{slack_token}",
         "channel": "#alerts"}]}]})
    add("Slack incoming webhook in JSON with escaped slashes (Alertmanager config, as PHP and others encode it)",
        "Prometheus Alertmanager configuration slack_config api_url; RFC 8259 section 7 (`\\/` escapes)",
        slack_json.replace("/", "\\/"), slack_token)

    # A container's env entry puts the name in one key and the value in the next: no label sits beside it.
    # The layout of siderolabs/talos-backup cronjob.sample.yaml@9ccc125b (a comment between name and value).
    env_secret = chars(BASE64, 40)
    add("container env value on the line after its name (talos-backup CronJob sample)",
        "kubernetes/api core/v1 types.go EnvVar{Name, Value, ValueFrom}; siderolabs/talos-backup "
        "cronjob.sample.yaml@9ccc125bc8ede514b080121c8071e2bb9a33fc32",
        "            env:\n              - name: AWS_ACCESS_KEY_ID\n                value: talosbackupawsaccesskeyid\n"
        "              - name: AWS_SECRET_ACCESS_KEY\n                # consider storing this as a secret.\n"
        f"                value: {env_secret}\n              - name: AWS_REGION\n                value: us-west-2\n"
        "              - name: BUCKET\n                value: talos-backups\n", env_secret)

    quoted_token, quoted_password = chars(ALNUM, 40), chars(ALNUM + "!%&", 20)
    add("container env with quoted names and values (a manifest)", "kubernetes/api core/v1 types.go EnvVar",
        f'env:\n  - name: "GITHUB_TOKEN"\n    value: \'{quoted_token}\'\n  - name: \'DB_PASSWORD\'\n'
        f'    value: "{quoted_password}"\n', quoted_token, quoted_password)

    json_env = chars(BASE64, 40)
    add("container env in kubectl get pod -o json", "kubernetes/api core/v1 types.go EnvVar (json name, value)",
        json.dumps({"spec": {"containers": [{"name": "talos-backup", "env": [
            {"name": "AWS_REGION", "value": "us-west-2"}, {"name": "AWS_SECRET_ACCESS_KEY", "value": json_env},
            {"name": "S3_PREFIX", "value": "important/backups"}]}]}}, indent=4), json_env)

    compact_env, notebook_env = chars(ALNUM + "_-", 36), chars(BASE64, 40)
    add("container env in compact JSON and in a notebook source of one string (line breaks escaped)",
        "kubernetes/api core/v1 types.go EnvVar; nbformat v4 (a cell's source as one string)",
        json.dumps([{"name": "TUNNEL_TOKEN", "value": compact_env}], separators=(",", ":")) + "\n"
        + json.dumps({"cell_type": "code", "source": f"env:\n  - name: AWS_SECRET_ACCESS_KEY\n"
                      f"    value: {notebook_env}\n"}), compact_env, notebook_env)

    bearer = chars(ALNUM + "-._~", 40)
    add("Bearer authorization header", "RFC 6750 section 2.1",
        f"curl -H 'Authorization: Bearer {bearer}' https://api.example.com/", bearer)
    s3_id, s3_secret = chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), chars(BASE64, 40)
    add("talos-backup's S3 keys, as you write the Secret before sops encrypts it",
        "siderolabs/talos-backup cronjob.sample.yaml (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); "
        "kubectl create secret generic --dry-run=client -o yaml (data: base64)",
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: talos-backup-s3\n  namespace: backup\nstringData:\n"
        f"  AWS_ACCESS_KEY_ID: AKIA{s3_id}\n  AWS_SECRET_ACCESS_KEY: {s3_secret}\n---\ndata:\n"
        f"  AWS_SECRET_ACCESS_KEY: {b64(s3_secret.encode())}\n",
        s3_id, s3_secret, b64(s3_secret.encode()))

    # A value written as a YAML block scalar (YAML 1.2.2 section 8.1: `|` literal, `>` folded, a chomping
    # `-`/`+` and an indentation digit): the secret is on the lines after `value:`, not beside it.
    literal, folded, kept, plain_block = chars(BASE64, 40), chars(ALNUM, 40), chars(BASE64, 40), chars(ALNUM, 32)
    folded_parts, indented = (chars(ALNUM, 24), chars(ALNUM, 24), chars(ALNUM, 24)), chars(BASE64, 40)
    add("container env values as YAML block scalars (|-, >, |, >- over several lines, |2)",
        "kubernetes/api core/v1 types.go EnvVar; YAML 1.2.2 section 8.1 block scalars (indicators | > - + 1-9)",
        "env:\n  - name: AWS_SECRET_ACCESS_KEY\n    value: |-\n      " + literal + "\n"
        "  - name: AWS_REGION\n    value: us-west-2\n"
        "  - name: GITHUB_TOKEN\n    value: >\n      " + folded + "\n"
        "  - name: CLOUDFLARE_API_TOKEN\n    value: |  # kept with its line break\n      " + kept + "\n\n"
        "  - name: DB_PASSWORD\n    value: >-\n      " + "\n      ".join(folded_parts) + "\n"
        "  - name: TUNNEL_SECRET\n    value: |2\n      " + indented + "\n"
        "  - name: S3_ACCESS_KEY\n    value: >+\n\n      " + plain_block + "\n"
        "  - name: BUCKET\n    value: talos-backups\n",
        literal, folded, kept, *folded_parts, indented, plain_block)

    # The same block scalars beside a credential-named key of their own (a HelmRelease's values, a config file):
    # `password: |-` puts the secret on the lines after the label, where no label-and-value form reads it.
    values_literal, values_folded, listed = chars(BASE64, 40), (chars(ALNUM, 24), chars(ALNUM, 24)), chars(ALNUM, 36)
    add("credential-named YAML keys with block scalar values (|-, >- over several lines, in a list item)",
        "YAML 1.2.2 section 8.1 block scalars; helm values as `kubectl get helmrelease -o yaml` prints spec.values",
        "spec:\n  values:\n    auth:\n      existingSecret: \"\"\n      rootPassword: |-\n        " + values_literal + "\n"
        "      clientSecret: >-\n        " + "\n        ".join(values_folded) + "\n"
        "    users:\n      - name: grafana\n        token: |\n          " + listed + "\n"
        "      - name: loki\n    replicas: 2\n",
        values_literal, *values_folded, listed)

    return cases


CASES = _cases()
