"""XML attacks, as bytes: external entities, entity expansion, external DTDs, deep nesting."""

SECRET = "TOP-SECRET-4b1d9c: this line must never leave the server"


def xxe(url: str) -> bytes:
    """An external entity to ``url`` (a local file or a URL), used in the document."""
    return (
        f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY leak SYSTEM "{url}">]><a>&leak;</a>'
    ).encode()


def billion_laughs(levels: int = 10) -> bytes:
    """Each entity ten times the one before: 10**levels copies of "lol" once expanded."""
    entities = ['<!ENTITY lol0 "lol">']
    for i in range(1, levels):
        entities.append(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">')
    return (
        f'<?xml version="1.0"?><!DOCTYPE lolz [{"".join(entities)}]><lolz>&lol{levels - 1};</lolz>'
    ).encode()


def quadratic_blowup(size: int = 50_000, uses: int = 50_000) -> bytes:
    """One large entity referenced many times: size * uses characters once expanded."""
    return (
        f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY big "{"x" * size}">]><a>{"&big;" * uses}</a>'
    ).encode()


def external_dtd(url: str) -> bytes:
    """A document that names an external DTD."""
    return f'<?xml version="1.0"?><!DOCTYPE a SYSTEM "{url}"><a>&e;</a>'.encode()


def in_utf16(document: bytes) -> bytes:
    """``document`` re-encoded in UTF-16 (with a byte order mark), declaring so."""
    text = document.decode().replace(
        '<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>'
    )
    return text.encode("utf-16")


def nested(depth: int) -> bytes:
    """``depth`` elements, each inside the one before."""
    return b"<e>" * depth + b"</e>" * depth
