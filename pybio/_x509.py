"""Private: a small DER reader for X.509 certificates, for
Connection.getpeercert().

``decode(der)`` returns the dict that the stdlib's
:meth:`ssl.SSLObject.getpeercert` gives for the same certificate (CPython
builds it with OpenSSL: ``_decode_certificate`` in ``Modules/_ssl.c``), with
the same keys, value shapes and text formats:

* ``subject`` / ``issuer``: a tuple of RDNs, each a tuple of
  ``(attribute name, value)`` pairs; names are OpenSSL's long names
  (``commonName``, ``organizationName``...), the dotted OID for others;
* ``version`` (1-based), ``serialNumber`` (upper-case hex),
  ``notBefore`` / ``notAfter`` (``"Jan  5 09:03:00 2030 GMT"``);
* ``subjectAltName`` (``DNS``, ``email``, ``URI``, ``IP Address`` with IPv6
  as eight ``%X`` groups, ``DirName``, ``Registered ID``, and OpenSSL's
  print form for the rest), ``OCSP``, ``caIssuers``,
  ``crlDistributionPoints``, each only when present.

The certificate was parsed by OpenSSL during the handshake already, so this
reader only has to walk well-formed DER; anything it cannot read raises
``ValueError``. Standard library only, no OpenSSL call.
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["decode"]

# OpenSSL's long names (OBJ_obj2txt with no_name=0) of the attribute types
# that appear in names. Others print as the dotted OID, as OpenSSL prints
# an OID it does not know.
_X520 = (
    # 2.5.4.<n>
    (3, "commonName"), (4, "surname"), (5, "serialNumber"), (6, "countryName"),
    (7, "localityName"), (8, "stateOrProvinceName"), (9, "streetAddress"),
    (10, "organizationName"), (11, "organizationalUnitName"), (12, "title"),
    (13, "description"), (14, "searchGuide"), (15, "businessCategory"),
    (16, "postalAddress"), (17, "postalCode"), (18, "postOfficeBox"),
    (19, "physicalDeliveryOfficeName"), (20, "telephoneNumber"), (21, "telexNumber"),
    (22, "teletexTerminalIdentifier"), (23, "facsimileTelephoneNumber"),
    (24, "x121Address"), (25, "internationaliSDNNumber"), (26, "registeredAddress"),
    (27, "destinationIndicator"), (28, "preferredDeliveryMethod"),
    (29, "presentationAddress"), (30, "supportedApplicationContext"), (31, "member"),
    (32, "owner"), (33, "roleOccupant"), (34, "seeAlso"), (35, "userPassword"),
    (36, "userCertificate"), (37, "cACertificate"), (38, "authorityRevocationList"),
    (39, "certificateRevocationList"), (40, "crossCertificatePair"), (41, "name"),
    (42, "givenName"), (43, "initials"), (44, "generationQualifier"),
    (45, "x500UniqueIdentifier"), (46, "dnQualifier"), (47, "enhancedSearchGuide"),
    (48, "protocolInformation"), (49, "distinguishedName"), (50, "uniqueMember"),
    (51, "houseIdentifier"), (52, "supportedAlgorithms"), (53, "deltaRevocationList"),
    (54, "dmdName"), (65, "pseudonym"), (72, "role"), (97, "organizationIdentifier"),
    (98, "countryCode3c"), (99, "countryCode3n"), (100, "dnsName"),
)
_PKCS9 = (
    # 1.2.840.113549.1.9.<n>
    (1, "emailAddress"), (2, "unstructuredName"), (3, "contentType"), (4, "messageDigest"),
    (5, "signingTime"), (6, "countersignature"), (7, "challengePassword"),
    (8, "unstructuredAddress"), (9, "extendedCertificateAttributes"), (20, "friendlyName"),
    (21, "localKeyID"),
)
_PILOT = (
    # 0.9.2342.19200300.100.1.<n> (RFC 1274, RFC 4519)
    (1, "userId"), (2, "textEncodedORAddress"), (3, "rfc822Mailbox"), (4, "info"),
    (5, "favouriteDrink"), (6, "roomNumber"), (7, "photo"), (8, "userClass"), (9, "host"),
    (10, "manager"), (11, "documentIdentifier"), (12, "documentTitle"),
    (13, "documentVersion"), (14, "documentAuthor"), (15, "documentLocation"),
    (20, "homeTelephoneNumber"), (21, "secretary"), (22, "otherMailbox"),
    (23, "lastModifiedTime"), (24, "lastModifiedBy"), (25, "domainComponent"),
    (26, "aRecord"), (27, "pilotAttributeType27"), (28, "mXRecord"), (29, "nSRecord"),
    (30, "sOARecord"), (31, "cNAMERecord"), (37, "associatedDomain"),
    (38, "associatedName"), (39, "homePostalAddress"), (40, "personalTitle"),
    (41, "mobileTelephoneNumber"), (42, "pagerTelephoneNumber"),
    (43, "friendlyCountryName"), (44, "uniqueIdentifier"), (45, "organizationalStatus"),
    (46, "janetMailbox"), (47, "mailPreferenceOption"), (48, "buildingName"),
    (49, "dSAQuality"), (50, "singleLevelQuality"), (51, "subtreeMinimumQuality"),
    (52, "subtreeMaximumQuality"), (53, "personalSignature"), (54, "dITRedirect"),
    (55, "audio"), (56, "documentPublisher"),
)
_EV = (
    # 1.3.6.1.4.1.311.60.2.1.<n> (CA/Browser Forum EV jurisdiction)
    (1, "jurisdictionLocalityName"), (2, "jurisdictionStateOrProvinceName"),
    (3, "jurisdictionCountryName"),
)
NAMES: Dict[str, str] = {
    f"{arc}.{n}": name
    for arc, rows in (("2.5.4", _X520), ("1.2.840.113549.1.9", _PKCS9),
                      ("0.9.2342.19200300.100.1", _PILOT), ("1.3.6.1.4.1.311.60.2.1", _EV))
    for n, name in rows
}
#: The arcs NAMES covers whole (a test checks them against OpenSSL's table).
ARCS = {"2.5.4": range(0, 120), "1.2.840.113549.1.9": range(1, 14),
        "0.9.2342.19200300.100.1": range(1, 70), "1.3.6.1.4.1.311.60.2.1": range(1, 4)}

_SAN = "2.5.29.17"
_AIA = "1.3.6.1.5.5.7.1.1"
_CDP = "2.5.29.31"
_OCSP = "1.3.6.1.5.5.7.48.1"
_CA_ISSUERS = "1.3.6.1.5.5.7.48.2"

# otherName types that OpenSSL's GENERAL_NAME_print spells out (with the
# string type each must have); any other prints as "<unsupported>".
_OTHER_NAMES = {
    "1.3.6.1.5.5.7.8.9": ("SmtpUTF8Mailbox", 0x0C),
    "1.3.6.1.5.5.7.8.5": ("XmppAddr", 0x0C),
    "1.3.6.1.5.5.7.8.7": ("SRVName", 0x16),
    "1.3.6.1.4.1.311.20.2.3": ("UPN", 0x0C),
    "1.3.6.1.5.5.7.8.8": ("NAIRealm", 0x0C),
}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Universal string tags and how ASN1_STRING_to_UTF8 reads their bytes.
_UTF8, _BMP, _UNIVERSAL = 0x0C, 0x1E, 0x1C
_ONE_BYTE = (0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1A)  # Numeric..Visible: Latin-1

Node = Tuple[int, int, int]  # (tag, start of content, end of content)


# ---- DER ------------------------------------------------------------------------

def _node(data: bytes, i: int, end: int) -> Tuple[Node, int]:
    """The element at data[i:end] and the offset after it."""
    if i + 2 > end:
        raise ValueError("DER: truncated element")
    tag = data[i]
    i += 1
    if tag & 0x1F == 0x1F:  # high tag number: keep the first byte, skip the rest
        while i < end and data[i] & 0x80:
            i += 1
        i += 1
    if i >= end:
        raise ValueError("DER: truncated element")
    first = data[i]
    i += 1
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or i + n > end:
            raise ValueError("DER: bad length")
        length = int.from_bytes(data[i:i + n], "big")
        i += n
    if i + length > end:
        raise ValueError("DER: element runs past its parent")
    return (tag, i, i + length), i + length


def _children(data: bytes, node: Node) -> List[Node]:
    out = []
    i, end = node[1], node[2]
    while i < end:
        child, i = _node(data, i, end)
        out.append(child)
    return out


def _expect(node: Node, tag: int, what: str) -> Node:
    if node[0] != tag:
        raise ValueError(f"X.509: {what}: tag {node[0]:#04x}, expected {tag:#04x}")
    return node


def _oid(data: bytes, node: Node) -> str:
    raw = data[node[1]:node[2]]
    if not raw or raw[-1] & 0x80:
        raise ValueError("X.509: empty or unterminated OID")
    arcs = []
    value = 0
    for b in raw:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first] + arcs[1:])


def _text(data: bytes, node: Node) -> str:
    """An IA5String-like value as CPython reads it (bytes as UTF-8)."""
    return data[node[1]:node[2]].decode("utf-8", "replace")


def _string(data: bytes, node: Node) -> str:
    """A name attribute's value, as ASN1_STRING_to_UTF8 converts it."""
    tag, raw = node[0], data[node[1]:node[2]]
    if tag == _UTF8:
        return raw.decode("utf-8")
    if tag in _ONE_BYTE:
        return raw.decode("latin-1")
    if tag == _BMP:
        return raw.decode("utf-16-be", "surrogatepass")
    if tag == _UNIVERSAL:
        return raw.decode("utf-32-be")
    raise ValueError(f"X.509: name attribute of type {tag:#04x} is not a string")


# ---- the parts --------------------------------------------------------------------

def _name(data: bytes, node: Node) -> tuple:
    """Name (SEQUENCE OF RDN) -> ((("commonName", "x"),), ...); empty RDNs
    add nothing, as in OpenSSL's X509_NAME."""
    rdns = []
    for rdn in _children(data, _expect(node, 0x30, "name")):
        attrs = []
        for atv in _children(data, _expect(rdn, 0x31, "RDN")):
            parts = _children(data, _expect(atv, 0x30, "attribute"))
            if len(parts) != 2:
                raise ValueError("X.509: attribute is not (type, value)")
            oid = _oid(data, _expect(parts[0], 0x06, "attribute type"))
            attrs.append((NAMES.get(oid, oid), _string(data, parts[1])))
        if attrs:
            rdns.append(tuple(attrs))
    return tuple(rdns)


def _serial(data: bytes, node: Node) -> str:
    """i2a_ASN1_INTEGER: the magnitude in upper-case hex, "-" first when
    negative, "00" for zero (BIO_gets keeps the first line only)."""
    raw = data[node[1]:node[2]]
    value = int.from_bytes(raw, "big", signed=True) if raw else 0
    magnitude = abs(value)
    digits = magnitude.to_bytes(max(1, (magnitude.bit_length() + 7) // 8), "big")
    if len(digits) > 35:  # i2a_ASN1_INTEGER breaks lines after 35 bytes
        return ("-" if value < 0 else "") + digits[:35].hex().upper() + "\\\n"
    return ("-" if value < 0 else "") + digits.hex().upper()


def _time(data: bytes, node: Node) -> str:
    """ASN1_TIME_print: "Mon DD HH:MM:SS[.fff] YYYY[ GMT]" (day space-padded;
    a time that does not end in Z is printed without GMT, offset applied)."""
    tag, text = node[0], data[node[1]:node[2]].decode("ascii")
    if tag == 0x17:  # UTCTime: YYMMDDHHMM[SS](Z|+hhmm|-hhmm)
        yy = int(text[0:2])
        year, rest = (1900 + yy if yy >= 50 else 2000 + yy), text[2:]
    elif tag == 0x18:  # GeneralizedTime: YYYYMMDDHHMM[SS[.fff]](Z|+hhmm|-hhmm)
        year, rest = int(text[0:4]), text[4:]
    else:
        raise ValueError(f"X.509: time of type {tag:#04x}")
    month, day, hour, minute = (int(rest[i:i + 2]) for i in (0, 2, 4, 6))
    rest = rest[8:]
    second = 0
    if rest[:2].isdigit():
        second, rest = int(rest[:2]), rest[2:]
    fraction = ""
    if tag == 0x18 and rest.startswith("."):
        n = 1
        while n < len(rest) and rest[n].isdigit():
            n += 1
        fraction, rest = rest[:n], rest[n:]
    gmt = text.endswith("Z")
    if rest[:1] in ("+", "-") and len(rest) >= 5:
        offset = (int(rest[1:3]) * 60 + int(rest[3:5])) * (1 if rest[0] == "+" else -1)
        t = datetime.datetime(year, month, day, hour, minute, second)
        t -= datetime.timedelta(minutes=offset)
        year, month, day, hour, minute = t.year, t.month, t.day, t.hour, t.minute
    return (f"{_MONTHS[month - 1]} {day:2d} {hour:02d}:{minute:02d}:{second:02d}{fraction} "
            f"{year}{' GMT' if gmt else ''}")


def _ip(raw: bytes) -> str:
    if len(raw) == 4:
        return ".".join(str(b) for b in raw)
    if len(raw) == 16:
        return ":".join(f"{raw[i] << 8 | raw[i + 1]:X}" for i in range(0, 16, 2))
    return "<invalid>"


def _general_name(data: bytes, node: Node) -> Tuple[str, Any]:
    """One GeneralName as CPython's _get_peer_alt_names renders it."""
    tag = node[0]
    if tag == 0x81:
        return "email", _text(data, node)
    if tag == 0x82:
        return "DNS", _text(data, node)
    if tag == 0x86:
        return "URI", _text(data, node)
    if tag == 0x87:
        return "IP Address", _ip(data[node[1]:node[2]])
    if tag == 0xA4:  # directoryName: [4] EXPLICIT Name
        inner = _children(data, node)
        if len(inner) != 1:
            raise ValueError("X.509: directoryName is not one Name")
        return "DirName", _name(data, inner[0])
    if tag == 0x88:
        oid = _oid(data, node)
        return "Registered ID", NAMES.get(oid, oid)
    if tag == 0xA0:  # otherName: type-id OID, [0] EXPLICIT value
        parts = _children(data, node)
        if len(parts) == 2 and parts[0][0] == 0x06 and parts[1][0] == 0xA0:
            known = _OTHER_NAMES.get(_oid(data, parts[0]))
            value = _children(data, parts[1])
            if known and len(value) == 1 and value[0][0] == known[1]:
                return "othername", f"{known[0]}:{_line(_text(data, value[0]))}"
        return "othername", "<unsupported>"
    if tag == 0xA3:
        return "X400Name", "<unsupported>"
    if tag == 0xA5:
        return "EdiPartyName", "<unsupported>"
    raise ValueError(f"X.509: unknown GeneralName tag {tag:#04x}")


def _line(text: str) -> str:
    """What BIO_gets reads of a printed value: up to and including a newline,
    and the C string ends at a NUL."""
    text = text.split("\0", 1)[0]
    cut = text.find("\n")
    return text if cut < 0 else text[:cut + 1]


def _extensions(data: bytes, tbs: List[Node]) -> Dict[str, Optional[Node]]:
    """extnID -> the extnValue's content node (the OCTET STRING's inner
    element); None for an ID that appears twice (X509_get_ext_d2i then
    finds nothing)."""
    out: Dict[str, Optional[Node]] = {}
    for node in tbs:
        if node[0] != 0xA3:
            continue
        seq = _children(data, node)
        if len(seq) != 1:
            raise ValueError("X.509: extensions are not one SEQUENCE")
        for ext in _children(data, _expect(seq[0], 0x30, "extensions")):
            parts = _children(data, _expect(ext, 0x30, "extension"))
            oid = _oid(data, _expect(parts[0], 0x06, "extension ID"))
            octets = _expect(parts[-1], 0x04, "extension value")
            inner, end = _node(data, octets[1], octets[2])
            out[oid] = None if oid in out or end != octets[2] else inner
    return out


def _alt_names(data: bytes, node: Node) -> tuple:
    return tuple(_general_name(data, gn) for gn in _children(data, _expect(node, 0x30, "SAN")))


def _aia(data: bytes, node: Node, method: str) -> Optional[tuple]:
    uris = []
    for ad in _children(data, _expect(node, 0x30, "AIA")):
        parts = _children(data, _expect(ad, 0x30, "access description"))
        if len(parts) == 2 and _oid(data, parts[0]) == method and parts[1][0] == 0x86:
            uris.append(_text(data, parts[1]))
    return tuple(uris) or None


def _crl_dp(data: bytes, node: Node) -> Optional[tuple]:
    uris = []
    for dp in _children(data, _expect(node, 0x30, "CRL distribution points")):
        for field in _children(data, _expect(dp, 0x30, "distribution point")):
            if field[0] != 0xA0:  # distributionPoint [0]; reasons and cRLIssuer ignored
                continue
            for dpname in _children(data, field):
                if dpname[0] != 0xA0:  # fullName [0] GeneralNames
                    continue
                for gn in _children(data, dpname):
                    if gn[0] == 0x86:
                        uris.append(_text(data, gn))
    return tuple(uris) or None


# ---- the certificate ------------------------------------------------------------

def decode(der: bytes) -> Dict[str, Any]:
    """The stdlib's getpeercert() dict of one DER certificate; ValueError
    when the DER cannot be read."""
    try:
        return _decode(bytes(der))
    except (IndexError, TypeError) as exc:  # a part missing where one must be
        raise ValueError(f"X.509: malformed certificate ({exc})") from None


def _decode(data: bytes) -> Dict[str, Any]:
    cert, end = _node(data, 0, len(data))
    if end != len(data):
        raise ValueError("X.509: bytes after the certificate")
    parts = _children(data, _expect(cert, 0x30, "certificate"))
    tbs = _children(data, _expect(parts[0], 0x30, "TBSCertificate"))
    version = 0
    if tbs and tbs[0][0] == 0xA0:  # [0] EXPLICIT version, DEFAULT v1
        inner = _children(data, tbs[0])
        raw = data[inner[0][1]:inner[0][2]]
        version = int.from_bytes(raw, "big", signed=True)
        tbs = tbs[1:]
    if len(tbs) < 6:
        raise ValueError("X.509: TBSCertificate is too short")
    serial, _alg, issuer, validity, subject = tbs[:5]
    times = _children(data, _expect(validity, 0x30, "validity"))
    if len(times) != 2:
        raise ValueError("X.509: validity is not two times")
    out: Dict[str, Any] = {
        "subject": _name(data, subject),
        "issuer": _name(data, issuer),
        "version": version + 1,
        "serialNumber": _serial(data, _expect(serial, 0x02, "serial number")),
        "notBefore": _time(data, times[0]),
        "notAfter": _time(data, times[1]),
    }
    ext = _extensions(data, tbs[6:])
    for key, oid, read in (("subjectAltName", _SAN, _alt_names),
                           ("OCSP", _AIA, lambda d, n: _aia(d, n, _OCSP)),
                           ("caIssuers", _AIA, lambda d, n: _aia(d, n, _CA_ISSUERS)),
                           ("crlDistributionPoints", _CDP, _crl_dp)):
        node = ext.get(oid)
        if node is None:
            continue
        try:
            value = read(data, node)
        except ValueError:  # X509_get_ext_d2i finds nothing in an undecodable extension
            continue
        if value is not None:
            out[key] = value
    return out
