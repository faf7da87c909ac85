"""Value formats of cluster.yaml, each a small annotated type that explains itself when wrong.

Each check raises a `PydanticCustomError` whose type names the format ("version",
"cidr-host-bits"...): the loader turns that type into the problem's code, so a test or a tool
can tell which check fired without parsing the message.
"""

from __future__ import annotations

import ipaddress
import re
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


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.fullmatch(value):
        raise _fail(
            "dns-label",
            f"{value!r} is not a DNS-1123 label{_whitespace(value)} (lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters)",
        )
    return value


def _domain(value: str) -> str:
    if not _DOMAIN.fullmatch(value):
        raise _fail("domain", f"{value!r} is not a DNS domain name such as example.com{_whitespace(value)}")
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


def _github_owner(value: str) -> str:
    if not _GITHUB_OWNER.fullmatch(value):
        raise _fail("github-owner", f"{value!r} is not a GitHub account name (letters, digits and single '-', "
                    "at most 39 characters)")
    return value


def _github_repository(value: str) -> str:
    if not _GITHUB_REPOSITORY.fullmatch(value):
        raise _fail("github-repository", f"{value!r} is not a GitHub repository name (letters, digits, '.', '_' "
                    "and '-', at most 100 characters)")
    return value


def _git_branch(value: str) -> str:
    if not _GIT_BRANCH.fullmatch(value):
        raise _fail("git-branch", f"{value!r} is not a git branch name such as main")
    return value


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


def _mac(value: str) -> str:
    if not _MAC.fullmatch(value):
        raise _fail("mac-address", f"{value!r} is not a MAC address of the form 00:1a:2b:3c:4d:5e (lowercase hex)")
    return value


def _device_path(value: str) -> str:
    if not _DEVICE_PATH.fullmatch(value):
        raise _fail("device-path", f"{value!r} is not a disk device path such as /dev/nvme0n1 or /dev/disk/by-id/...")
    return value


def _age_recipient(value: str) -> str:
    if value.startswith("AGE-SECRET-KEY-"):
        # a private key pasted here would be committed and published: refuse it without echoing it
        raise _fail("age-public-key", "this is an age PRIVATE key: put the public key (age1...) here, and keep "
                    "the private key out of the repository")
    if not _AGE_RECIPIENT.fullmatch(value):
        raise _fail("age-public-key", f"{value!r} is not an age public key (age1 followed by 58 characters, "
                    "as age-keygen prints it)")
    return value


def _extension(value: str) -> str:
    if not _EXTENSION.fullmatch(value):
        raise _fail("extension-name", f"{value!r} is not a Talos system extension name such as siderolabs/zfs")
    return value


_as_text = PlainSerializer(str, return_type=str)

Version = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_version)]
DnsLabel = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_dns_label)]
DomainName = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_domain)]
SchematicId = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_schematic)]
ImageRepository = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_image_repository)]
GitHubOwner = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_github_owner)]
GitHubRepository = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_github_repository)]
GitBranch = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_git_branch)]
IPv4 = Annotated[ipaddress.IPv4Address, BeforeValidator(_ipv4), _as_text]
IPv4Network = Annotated[ipaddress.IPv4Network, BeforeValidator(_ipv4_network), _as_text]
MacAddress = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_mac)]
DevicePath = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_device_path)]
AgePublicKey = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_age_recipient)]
ExtensionName = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_extension)]
