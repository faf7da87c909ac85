"""Value formats of cluster.yaml, each a small annotated type that explains itself when wrong.

Each check raises a `PydanticCustomError` whose type names the format ("version",
"cidr-host-bits"...): the loader turns that type into the problem's code, so a test or a tool
can tell which check fired without parsing the message.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError

from homeops.safe_yaml.problems import found

# Matched with fullmatch: `$` would also accept a final newline ("worker-2\n" as a node name).
_VERSION = re.compile(r"v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DOMAIN = re.compile(r"(?=.{1,253}\Z)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_SCHEMATIC = re.compile(r"[0-9a-f]{64}")
# An OCI repository: registry host[:port], then lowercase path components (distribution's grammar).
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_REPOSITORY = re.compile(
    rf"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
    rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
)
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_DEVICE_PATH = re.compile(r"^/dev/[A-Za-z0-9][A-Za-z0-9._:/-]*$")
# age's Bech32 recipient: "age1" + 58 characters of the Bech32 alphabet (32-byte key + checksum).
_AGE_RECIPIENT = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")
_EXTENSION = re.compile(r"^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9.-]*$")
# GitHub's rules for account and repository names, and git's for branch names (check-ref-format).
_GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_GITHUB_REPOSITORY = re.compile(r"^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$")
_GIT_BRANCH = re.compile(r"^(?![/.-])(?!.*(?:\.\.|//|@\{|\.lock$|/$|\.$|/\.))[^\x00-\x20~^:?*\[\\\x7f]+$")
# S3 (and S3-compatible stores): AWS's bucket naming rules, an endpoint URL without path or credentials,
# a region name, a key prefix of path segments; a CronJob schedule: five cron fields or a @macro.
_S3_BUCKET = re.compile(r"(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_S3_ENDPOINT = re.compile(r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")
_S3_REGION = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_S3_PREFIX = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")
_CRON_FIELD = r"(?:\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/[0-9]+)?"
_CRON = re.compile(rf"(?:@(?:yearly|annually|monthly|weekly|daily|midnight|hourly)"
                   rf"|{_CRON_FIELD}(?:,{_CRON_FIELD})*(?: +{_CRON_FIELD}(?:,{_CRON_FIELD})*){{4}})")
_FLOATING_TAGS = {"latest", "stable", "main", "master", "edge", "nightly"}


def _fail(code: str, message: str) -> PydanticCustomError:
    # No context is passed, so braces inside a quoted value are never read as a template.
    return PydanticCustomError(code, message)


def _whitespace(value: str) -> str:
    """A hint for a value that only fails for the space or line break around it (easy to miss in a message)."""
    if value == value.strip():
        return ""
    where = "ends" if value == value.lstrip() else ("starts" if value == value.rstrip() else "starts and ends")
    what = "a line break" if "\n" in value.replace(value.strip(), "", 1) else "whitespace"
    return f" (it {where} with {what}: remove it)"


def _must_be_str(value: object) -> object:
    # YAML turns `1.2` or `true` into numbers and booleans; say so instead of coercing.
    if not isinstance(value, str):
        hint = " (quote it)" if isinstance(value, (int, float)) else ""
        raise _fail("wrong-type", f"expected a string, found {found(value)}{hint}")
    return value


def _version(value: str) -> str:
    if value.lower() in _FLOATING_TAGS:
        raise _fail("version-unpinned", f"{value!r} is not a version: pin it to a release such as v1.2.3")
    if not _VERSION.fullmatch(value):
        hint = _whitespace(value) or (f" (did you mean v{value}?)" if _VERSION.fullmatch("v" + value) else "")
        raise _fail("version", f"{value!r} is not a version of the form vMAJOR.MINOR.PATCH{hint}")
    return value


def _schematic(value: str) -> str:
    if not _SCHEMATIC.fullmatch(value):
        detail = f", got {len(value)} characters" if re.fullmatch(r"[0-9a-f]*", value) else _whitespace(value)
        raise _fail(
            "schematic-id",
            f"must be 64 lowercase hexadecimal characters (a Talos Image Factory schematic ID){detail}",
        )
    return value


def _image_repository(value: str) -> str:
    last = value.rsplit("/", 1)[-1]
    if "@" in value or ":" in last:
        raise _fail(
            "image-repository",
            f"{value!r} carries a tag or digest: give the repository only (such as factory.talos.dev/installer); "
            "the schematic comes from talos.schematic_id and the tag from versions.talos",
        )
    if not _IMAGE_REPOSITORY.fullmatch(value):
        raise _fail("image-repository", f"{value!r} is not an image repository such as "
                    f"factory.talos.dev/installer{_whitespace(value)}")
    return value


# The formats told by one expression alone: code -> (expression, what a value must be). A value that
# fails reads "'VALUE' is not WHAT"; {hint} is where a hint about whitespace around it goes.
_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "dns-label": (_DNS_LABEL, "a DNS-1123 label{hint} (lowercase letters, digits and '-', starting and ending "
                              "with a letter or digit, at most 63 characters)"),
    "domain": (_DOMAIN, "a DNS domain name such as example.com{hint}"),
    "github-owner": (_GITHUB_OWNER, "a GitHub account name{hint} (letters, digits and single '-', at most 39 characters)"),
    "github-repository": (_GITHUB_REPOSITORY, "a GitHub repository name{hint} (letters, digits, '.', '_' and '-', "
                                              "at most 100 characters)"),
    "git-branch": (_GIT_BRANCH, "a git branch name such as main{hint}"),
    "mac-address": (_MAC, "a MAC address of the form 00:1a:2b:3c:4d:5e (lowercase hex){hint}"),
    "device-path": (_DEVICE_PATH, "a disk device path such as /dev/nvme0n1 or /dev/disk/by-id/...{hint}"),
    "extension-name": (_EXTENSION, "a Talos system extension name such as siderolabs/zfs{hint}"),
    "s3-bucket": (_S3_BUCKET, "an S3 bucket name{hint} (3 to 63 lowercase letters, digits, '.' and '-', starting and "
                              "ending with a letter or digit)"),
    "s3-endpoint": (_S3_ENDPOINT, "an S3 endpoint URL such as https://s3.example.com or http://minio.lan:9000{hint} "
                                  "(scheme, host and port only: no path)"),
    "s3-region": (_S3_REGION, "a region name such as us-east-1{hint} (lowercase letters, digits and '-')"),
    "s3-prefix": (_S3_PREFIX, "an object key prefix such as home-ops/etcd{hint} (segments of letters, digits, '.', "
                              "'_' and '-' joined by '/', no '/' at either end)"),
    "cron-schedule": (_CRON, "a CronJob schedule{hint}: five cron fields (minute hour day-of-month month day-of-week) "
                             "such as '0 */6 * * *', or @daily, @hourly..."),
}


def _shaped(code: str) -> Callable[[str], str]:
    expression, what = _SHAPES[code]

    def check(value: str) -> str:
        if not expression.fullmatch(value):
            raise _fail(code, f"{value!r} is not " + what.format(hint=_whitespace(value)))
        return value

    return check


def _ipv4(value: object) -> ipaddress.IPv4Address:
    value = _must_be_str(value)
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        hint = _whitespace(value) or (" (an address has no /PREFIX)" if "/" in str(value) else "")
        raise _fail("ipv4-address", f"{value!r} is not an IPv4 address{hint}") from None
    if not isinstance(address, ipaddress.IPv4Address):
        raise _fail("ipv4-address", f"{value!r} is not an IPv4 address (IPv6 is not supported)")
    return address


def _ipv4_network(value: object) -> ipaddress.IPv4Network:
    value = _must_be_str(value)
    if "/" not in value:
        raise _fail("cidr-format", f"{value!r} is not a network: write it as ADDRESS/PREFIX, such as 10.0.0.0/16")
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise _fail("cidr-format", f"{value!r} is not an IPv4 network such as 10.0.0.0/16{_whitespace(value)}") from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise _fail("cidr-format", f"{value!r} is not an IPv4 network (IPv6 is not supported)")
    if network.network_address != ipaddress.ip_address(value.split("/", 1)[0]):
        raise _fail("cidr-host-bits", f"{value!r} has host bits set (did you mean {network}?)")
    if str(network) != value:
        raise _fail("cidr-format", f"write {value!r} as {network}")
    return network


def _age_recipient(value: str) -> str:
    if value.startswith("AGE-SECRET-KEY-"):
        # a private key pasted here would be committed and published: refuse it without echoing it
        raise _fail("age-public-key", "this is an age PRIVATE key: put the public key (age1...) here, and keep "
                    "the private key out of the repository")
    if not _AGE_RECIPIENT.fullmatch(value):
        raise _fail("age-public-key", f"{value!r} is not an age public key (age1 followed by 58 characters, "
                    "as age-keygen prints it)")
    return value


def _s3_endpoint(value: str) -> str:
    if "@" in value.split("://", 1)[-1].split("/", 1)[0]:
        # credentials in the address would be committed and published: refuse them without echoing them
        raise _fail("s3-endpoint", "this address carries credentials (USER:KEY@): give scheme, host and port only; "
                    "the keys go in the SOPS-encrypted Secret you write (see the Backup and disaster recovery page)")
    return _shaped("s3-endpoint")(value)


_as_text = PlainSerializer(str, return_type=str)


def _text(check: Callable[[str], str]) -> object:
    # YAML's numbers and booleans are refused before the format is checked (`_must_be_str`).
    return Annotated[str, BeforeValidator(_must_be_str), AfterValidator(check)]


Version = _text(_version)
DnsLabel = _text(_shaped("dns-label"))
DomainName = _text(_shaped("domain"))
SchematicId = _text(_schematic)
ImageRepository = _text(_image_repository)
GitHubOwner = _text(_shaped("github-owner"))
GitHubRepository = _text(_shaped("github-repository"))
GitBranch = _text(_shaped("git-branch"))
IPv4 = Annotated[ipaddress.IPv4Address, BeforeValidator(_ipv4), _as_text]
IPv4Network = Annotated[ipaddress.IPv4Network, BeforeValidator(_ipv4_network), _as_text]
MacAddress = _text(_shaped("mac-address"))
DevicePath = _text(_shaped("device-path"))
AgePublicKey = _text(_age_recipient)
ExtensionName = _text(_shaped("extension-name"))
S3Bucket = _text(_shaped("s3-bucket"))
S3Endpoint = _text(_s3_endpoint)
S3Region = _text(_shaped("s3-region"))
S3Prefix = _text(_shaped("s3-prefix"))
CronSchedule = _text(_shaped("cron-schedule"))
