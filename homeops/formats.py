"""Value formats of cluster.yaml, each a small annotated type that explains itself when wrong."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

_VERSION = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SCHEMATIC = re.compile(r"^[0-9a-f]{64}$")


def _must_be_str(value: object) -> object:
    # YAML turns `1.2` or `true` into numbers and booleans; say so instead of coercing.
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {type(value).__name__} {value!r}")
    return value


def _version(value: str) -> str:
    if value.lower() in {"latest", "stable", "main", "master"}:
        raise ValueError(f"{value!r} is not a version: pin a release such as v1.2.3")
    if not _VERSION.match(value):
        hint = f" (did you mean v{value}?)" if _VERSION.match("v" + value) else ""
        raise ValueError(f"{value!r} is not a version of the form vMAJOR.MINOR.PATCH{hint}")
    return value


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label (lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters)"
        )
    return value


def _domain(value: str) -> str:
    if not _DOMAIN.match(value):
        raise ValueError(f"{value!r} is not a DNS domain name such as example.com")
    return value


def _schematic(value: str) -> str:
    if not _SCHEMATIC.match(value):
        raise ValueError(
            f"must be 64 lowercase hexadecimal characters (a Talos Image Factory schematic ID), got {len(value)} characters"
            if re.fullmatch(r"[0-9a-f]*", value)
            else "must be 64 lowercase hexadecimal characters (a Talos Image Factory schematic ID)"
        )
    return value


def _ipv4(value: object) -> ipaddress.IPv4Address:
    value = _must_be_str(value)
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address") from None
    if not isinstance(address, ipaddress.IPv4Address):
        raise ValueError(f"{value!r} is not an IPv4 address (IPv6 is not supported)")
    return address


def _ipv4_network(value: object) -> ipaddress.IPv4Network:
    value = _must_be_str(value)
    if "/" not in value:
        raise ValueError(f"{value!r} is not a network: write it as ADDRESS/PREFIX, such as 10.0.0.0/16")
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 network such as 10.0.0.0/16") from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise ValueError(f"{value!r} is not an IPv4 network (IPv6 is not supported)")
    if str(network) != value:
        raise ValueError(f"{value!r} has host bits set (did you mean {network}?)")
    return network


_as_text = PlainSerializer(str, return_type=str)

Version = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_version)]
DnsLabel = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_dns_label)]
DomainName = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_domain)]
SchematicId = Annotated[str, BeforeValidator(_must_be_str), AfterValidator(_schematic)]
IPv4 = Annotated[ipaddress.IPv4Address, BeforeValidator(_ipv4), _as_text]
IPv4Network = Annotated[ipaddress.IPv4Network, BeforeValidator(_ipv4_network), _as_text]
