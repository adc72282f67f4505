"""Name normalisation for search: case- and accent-insensitive prefixes."""
import unicodedata


def name_key(name: str) -> str:
    """'  Zoë  Saldaña ' -> 'zoe saldana': NFKD without combining marks, casefolded,
    whitespace collapsed. Stored next to the name so a prefix search can use an index."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
