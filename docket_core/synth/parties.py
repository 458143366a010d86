"""Made-up companies for generated documents: names with legal forms, addresses, VAT ids and IBANs.

Names are built from invented syllables and a trade word, so they name no real vendor; VAT ids and
IBANs are drawn at random until their check digits are right (checked with python-stdnum, the same
library a reader would validate with). German IBANs use a bank code starting with 0, which no German
bank has; the other countries' numbers are random and were never looked up, so they belong to nobody
this project knows of.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass

from stdnum import iban as std_iban
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat
from stdnum.in_ import gstin

__all__ = ["COUNTRIES", "Country", "Party", "make_iban", "make_party", "make_vat_id"]


@dataclass(frozen=True)
class Country:
    """What a country's documents print: currency, tax rates, legal forms, places, street words."""

    code: str
    currency: str
    tax_rates: tuple[str, ...]
    legal_forms: tuple[str, ...]
    cities: tuple[tuple[str, str], ...]  # (postcode pattern, city); '9' is a random digit
    street_words: tuple[str, ...]
    street_first: bool  # "Rue X 12" vs "12 X Road"
    trades: tuple[str, ...]
    has_vat: bool = True
    has_iban: bool = True


COUNTRIES: dict[str, Country] = {
    "GB": Country("GB", "GBP", ("20",), ("Ltd", "Limited", "PLC", "LLP"),
                  (("EC1A 9AA", "London"), ("M1 9AE", "Manchester"), ("LS1 9UR", "Leeds")),
                  ("Road", "Street", "Lane"), False, ("Engineering", "Supplies", "Consulting", "Logistics")),
    "IE": Country("IE", "EUR", ("23",), ("Ltd", "Limited", "DAC"),
                  (("D02 X999", "Dublin"), ("T12 X999", "Cork")), ("Street", "Road"), False,
                  ("Software", "Distribution", "Services")),
    "US": Country("US", "USD", ("0", "8.875", "7.25"), ("Inc.", "LLC", "Corp."),
                  (("NY 10999", "New York"), ("IL 60999", "Chicago"), ("TX 73999", "Austin")),
                  ("Avenue", "Street", "Blvd."), False, ("Systems", "Supply", "Labs", "Trading"),
                  has_vat=False, has_iban=False),
    "IN": Country("IN", "INR", ("18", "12"), ("Pvt. Ltd.", "Private Limited", "LLP"),
                  (("400 099", "Mumbai"), ("560 099", "Bengaluru"), ("110 099", "New Delhi")),
                  ("Road", "Marg", "Nagar"), False, ("Technologies", "Exports", "Textiles", "Traders"),
                  has_iban=False),
    "MY": Country("MY", "MYR", ("6", "8"), ("SDN BHD", "SDN. BHD.", "BHD", "ENTERPRISE"),
                  (("50999", "Kuala Lumpur"), ("81999", "Johor Bahru"), ("10999", "George Town")),
                  ("Jalan",), True, ("Trading", "Hardware", "Mart", "Bakery", "Stationery"),
                  has_vat=False, has_iban=False),
    "DE": Country("DE", "EUR", ("19", "7"), ("GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.", "UG (haftungsbeschränkt)"),
                  (("10999", "Berlin"), ("80999", "München"), ("50999", "Köln"), ("20999", "Hamburg")),
                  ("straße", "weg", "allee"), True, ("Feinmechanik", "Bürotechnik", "Holzbau", "Elektro", "Logistik")),
    "AT": Country("AT", "EUR", ("20", "10"), ("GmbH", "AG", "KG", "OG"),
                  (("1999", "Wien"), ("8999", "Graz"), ("5999", "Salzburg")),
                  ("gasse", "straße"), True, ("Haustechnik", "Druckerei", "Handel")),
    "FR": Country("FR", "EUR", ("20", "10", "5.5"), ("SARL", "S.A.S.", "SAS", "SA", "EURL"),
                  (("75099", "Paris"), ("69099", "Lyon"), ("33099", "Bordeaux"), ("31099", "Toulouse")),
                  ("rue", "avenue", "boulevard"), True, ("Menuiserie", "Conseil", "Imprimerie", "Transports")),
    "BE": Country("BE", "EUR", ("21", "6"), ("SRL", "SA", "BV", "NV"),
                  (("1099", "Bruxelles"), ("2099", "Antwerpen"), ("4099", "Liège")),
                  ("rue", "straat"), True, ("Services", "Bouw", "Distribution")),
    "NL": Country("NL", "EUR", ("21", "9"), ("B.V.", "N.V.", "V.O.F."),
                  (("1099 AB", "Amsterdam"), ("3099 CD", "Rotterdam"), ("3599 EF", "Utrecht")),
                  ("straat", "laan", "weg"), True, ("Bouw", "Installatietechniek", "Drukkerij", "Handel")),
    "ES": Country("ES", "EUR", ("21", "10"), ("S.L.", "S.A.", "S.L.U."),
                  (("28099", "Madrid"), ("08099", "Barcelona"), ("46099", "Valencia"), ("41099", "Sevilla")),
                  ("Calle", "Avenida"), True, ("Distribuciones", "Construcciones", "Asesores", "Suministros")),
    "IT": Country("IT", "EUR", ("22", "10"), ("S.r.l.", "S.p.A.", "S.n.c.", "S.a.s."),
                  (("20199", "Milano"), ("00199", "Roma"), ("10199", "Torino"), ("40199", "Bologna")),
                  ("Via", "Corso", "Viale"), True, ("Forniture", "Costruzioni", "Servizi", "Arredamenti")),
}  # fmt: skip

_SYLLABLES = (
    "kor", "vel", "tan", "bri", "lum", "dar", "fen", "sol", "mar", "tis", "qua", "ren", "ost", "bel",
    "nix", "ter", "ora", "vin", "cal", "zet", "hal", "mon", "pra", "dex", "lor", "sen", "gra", "wil",
)  # fmt: skip
_GIVEN_STREET = ("Linden", "Birken", "Garten", "Mühlen", "Hafen", "Castel", "Ponte", "Molen", "Olmo", "Sauce")


@dataclass(frozen=True)
class Party:
    """A made-up company: its name as printed (legal form included), address lines, ids."""

    name: str
    street: str
    city_line: str
    country: str
    vat_id: str | None
    iban: str | None
    email: str
    phone: str


def _word(rng: random.Random, parts: int = 2) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _until_valid(draw: Callable[[], str], is_valid: Callable[[str], bool], what: str) -> str:
    for _ in range(20_000):
        candidate = draw()
        if is_valid(candidate):
            return candidate
    raise RuntimeError(f"no valid {what} drawn in 20,000 tries; the generator's format for it is wrong")


def make_vat_id(rng: random.Random, country: str) -> str | None:
    """A VAT id (GSTIN for India) with right check digits, compact as a reader would normalize it."""
    if country == "FR":
        siren = _until_valid(lambda: str(rng.randint(1, 9)) + _digits(rng, 8), _luhn_ok, "SIREN")
        return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
    if country == "BE":
        body = "0" + str(rng.randint(2, 9)) + _digits(rng, 6)
        return f"BE{body}{97 - int(body) % 97:02d}"
    if country == "IN":
        state = f"{rng.randint(1, 37):02d}"
        pan = "".join(rng.choice(string.ascii_uppercase) for _ in range(3)) + "C" + rng.choice(string.ascii_uppercase)
        body = f"{state}{pan}{_digits(rng, 4)}{rng.choice(string.ascii_uppercase)}{rng.randint(1, 9)}Z"
        alphabet = string.digits + string.ascii_uppercase
        return _until_valid(lambda: body + rng.choice(alphabet), gstin.is_valid, "GSTIN")
    draws = {
        "DE": lambda: "DE" + str(rng.randint(1, 9)) + _digits(rng, 8),
        "AT": lambda: "ATU" + _digits(rng, 8),
        "NL": lambda: "NL" + _digits(rng, 9) + "B" + f"{rng.randint(1, 99):02d}",
        "ES": lambda: "ES" + rng.choice("AB") + _digits(rng, 8),
        "IT": lambda: "IT" + str(rng.randint(1, 9)) + _digits(rng, 6) + f"{rng.randint(1, 100):03d}" + _digits(rng, 1),
        "GB": lambda: "GB" + str(rng.randint(1, 9)) + _digits(rng, 8),
        "IE": lambda: "IE" + _digits(rng, 7) + rng.choice("ABCDEFGHJKLMNPQRSTVW"),
    }
    if country not in draws:
        return None
    valid = gb_vat.is_valid if country == "GB" else eu_vat.is_valid  # the UK left the EU VAT area
    return _until_valid(draws[country], valid, f"{country} VAT id")


_BBAN = {  # country: pattern ('9' digit, 'A' upper letter, 'X' letter or digit)
    "DE": "099999999999999999",  # bank code 0xxxxxxx: no German bank has one
    "AT": "9999999999999999",
    "FR": "99999999999999999999999",
    "BE": "999999999999",
    "NL": "AAAA9999999999",
    "ES": "99999999999999999999",
    "IT": "A9999999999XXXXXXXXXXXX",
    "GB": "AAAA99999999999999",
    "IE": "AAAA99999999999999",
}


def make_iban(rng: random.Random, country: str) -> str | None:
    """An IBAN with right check digits (and national check digits where stdnum checks them), compact."""
    pattern = _BBAN.get(country)
    if pattern is None:
        return None
    pools = {"9": string.digits, "A": string.ascii_uppercase, "X": string.digits + string.ascii_uppercase}

    def draw() -> str:
        bban = "".join(rng.choice(pools[p]) if p in pools else p for p in pattern)
        numeric = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
        return f"{country}{98 - numeric % 97:02d}{bban}"

    return _until_valid(draw, std_iban.is_valid, f"{country} IBAN")


def company_name(rng: random.Random, country: Country) -> str:
    """`<Invented> <Trade> <legal form>`, or `<Invented> & <Invented> <legal form>`."""
    form = rng.choice(country.legal_forms)
    if rng.random() < 0.25:
        core = f"{_word(rng)} & {_word(rng)}"
    else:
        core = f"{_word(rng, rng.choice((2, 3)))} {rng.choice(country.trades)}"
    name = f"{core} {form}"
    return name.upper() if country.code == "MY" else name


def _street(rng: random.Random, country: Country) -> str:
    word, number = rng.choice(country.street_words), rng.randint(1, 180)
    if word in ("rue", "avenue", "boulevard"):
        return f"{number} {word} {_word(rng)}"
    if word.islower():  # Lindenstraße 12, Molenweg 3
        return f"{rng.choice(_GIVEN_STREET)}{word} {number}"
    if country.street_first:
        return f"{word} {_word(rng)} {number}" if country.code != "MY" else f"NO. {number}, JALAN {_word(rng).upper()}"
    return f"{number} {_word(rng)} {word}"


def make_party(rng: random.Random, country_code: str, *, with_ids: bool = True) -> Party:
    """A company of `country_code` (a key of `COUNTRIES`); `with_ids` False leaves VAT id and IBAN out."""
    country = COUNTRIES[country_code]
    name = company_name(rng, country)
    postcode, city = rng.choice(country.cities)
    postcode = "".join(str(rng.randint(0, 9)) if ch == "9" else ch for ch in postcode)
    city_line = f"{city} {postcode}" if country_code in ("GB", "IE", "US", "IN") else f"{postcode} {city}"
    domain = "".join(ch for ch in name.split()[0].lower() if ch.isalnum()) or "example"
    return Party(
        name=name,
        street=_street(rng, country),
        city_line=city_line,
        country=country_code,
        vat_id=make_vat_id(rng, country_code) if with_ids and country.has_vat else None,
        iban=make_iban(rng, country_code) if with_ids and country.has_iban else None,
        email=f"{rng.choice(('info', 'billing', 'accounts', 'office'))}@{domain}.example",
        phone=f"+{rng.randint(30, 49)} {_digits(rng, 3)} {_digits(rng, 6)}",
    )
