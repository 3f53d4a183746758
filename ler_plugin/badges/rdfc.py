"""RDF Dataset Canonicalization (RDFC-1.0) of JSON-LD documents, for Data Integrity proofs.

PyLD 2.0.4's URDNA2015 is the algorithm RDFC-1.0 standardised, and its output matches
what signers produce (the whole DCC corpus verifies with it) except for one detail: the
canonical N-Quads form of literals. RDFC-1.0 escapes ``\\b`` and ``\\f`` and writes the other
control characters (U+0000-U+001F, U+007F) as ``\\u00XX``; PyLD leaves them raw. The
escaping feeds the blank-node hashes too, so both places that serialise a quad are
overridden here instead of post-processing the output.

Contexts come only from the shipped files (`jsonld.load_document`), and PyLD keeps them
processed between calls (`static_loader`), which is what makes repeated verification cheap.
"""

from __future__ import annotations

import copy
from typing import Any

from pyld import jsonld

from ler_plugin.badges.jsonld import load_document

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_ECHAR = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _escape(value: str) -> str:
    out = []
    for char in value:
        if char in _ECHAR:
            out.append(_ECHAR[char])
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def _term(component: dict[str, Any]) -> str:
    if component["type"] == "IRI":
        return f"<{component['value']}>"
    return str(component["value"])


def to_nquad(quad: dict[str, Any]) -> str:
    """One quad in canonical N-Quads form (RDFC-1.0 section 4.? / RDF 1.2 N-Quads)."""
    obj = quad["object"]
    if obj["type"] == "literal":
        text = f'"{_escape(obj["value"])}"'
        if obj["datatype"] == _RDF_LANGSTRING:
            text += f"@{obj['language']}" if obj.get("language") else ""
        elif obj["datatype"] != _XSD_STRING:
            text += f"^^<{obj['datatype']}>"
    else:
        text = _term(obj)
    line = f"{_term(quad['subject'])} {_term(quad['predicate'])} {text}"
    name = quad.get("name")
    if name is not None and name.get("value") is not None:
        line += f" {_term(name)}"
    return line + " .\n"


class _Rdfc10(jsonld.URDNA2015):
    def hash_first_degree_quads(self, id_: str) -> str:
        info = self.blank_node_info[id_]
        if "hash" not in info:
            nquads = sorted(
                to_nquad(
                    {
                        key: (
                            c
                            if key == "predicate"
                            else self.modify_first_degree_component(id_, c, key)
                        )
                        for key, c in quad.items()
                    }
                )
                for quad in info["quads"]
            )
            info["hash"] = self.hash_nquads(nquads)
        return str(info["hash"])


# badgecheck finds an OB 2.0 extension's schema by watching which contexts its loader is asked
# for; a context PyLD keeps in its process-wide cache is never asked for again, and badgecheck
# then fails the extension ("no contexts defined"). So the OB 2.0 family stays out of the cache.
_NOT_CACHED = ("w3id.org/openbadges", "ler-plugin.org/contexts/pd-credit/ob2/")


def static_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """`load_document` marked ``tag: static``: PyLD then keeps the processed context in its
    process-wide cache by URL. Without the tag it re-resolves every URL context on every call,
    hashing the whole context document (JCS) each time: half the cost of a verification."""
    document = load_document(url, options)
    if any(marker in url for marker in _NOT_CACHED):
        return document
    return {**document, "tag": "static"}


def canonize(document: dict[str, Any]) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document (contexts from shipped files only)."""
    dataset = jsonld.to_rdf(
        copy.deepcopy(document),
        {"documentLoader": static_loader, "produceGeneralizedRdf": False},
    )
    canon = _Rdfc10()
    # main() labels blank nodes canonically in place on canon.quads; we serialise them ourselves.
    canon.main(dataset, {"format": "application/n-quads"})
    return "".join(sorted({to_nquad(quad) for quad in canon.quads}))
