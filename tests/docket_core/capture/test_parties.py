"""Seller, buyer and the seller's VAT id without templates: address blocks, headings, whose VAT id."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from docket_core.capture.addresses import address_blocks, postal
from docket_core.capture.documents import read_pdf
from docket_core.capture.fields import extract
from docket_core.capture.pages import page_from_text
from docket_core.evaluate.score import is_right
from docket_core.synth import make_document, write_document


def _extract(text: str) -> dict:
    values, _, _ = extract([page_from_text(text)])
    return values


class TestLetters:
    def test_the_vat_id_under_the_addressee_is_the_buyers_and_the_footer_one_the_sellers(self) -> None:
        text = (
            "Tisora Feinmechanik GmbH\n"
            "Saucestraße 71\n"
            "80089 München\n"
            "\n\n\n"
            "Halbriter Bürotechnik KG            Rechnungsnummer: 2020-1579\n"
            "Pontestraße 155                     Rechnungsdatum: 28.05.2020\n"
            "80066 München\n"
            "USt-IdNr.: DE 136 695 976\n"
            "\n\n"
            "Gesamtbetrag: 119,00 EUR\n"
            "\n\n\n"
            "Tisora Feinmechanik GmbH · USt-IdNr.: DE 123 456 789\n"
        )
        values = _extract(text)

        assert values["seller_name"] == "Tisora Feinmechanik GmbH"
        assert values["buyer_name"] == "Halbriter Bürotechnik KG"
        assert values["seller_vat_id"] == "DE123456789"
        assert values["buyer_vat_id"] == "DE136695976"

    def test_the_billed_address_block_is_the_buyer_not_the_delivery_address(self) -> None:
        text = (
            "Au Bon Pain SARL - 3 chemin des Oliviers - 84340 Malaucène\n"
            "\n\n\n"
            "Adresse de livraison\n"
            "Entrepôt du Nord                    Ma jolie boutique\n"
            "12 rue du Port                      35 rue de la République\n"
            "59000 Lille                         69001 Lyon\n"
            "\n\n"
            "Facture N° FA-2017-10\n"
            "Total TTC : 120,00 €\n"
        )
        assert _extract(text)["buyer_name"] == "Ma jolie boutique"

    def test_the_sellers_name_printed_small_over_the_window_is_the_sender_not_the_addressee(self) -> None:
        text = (
            "Belpra Consulting Ltd\n"
            "Lortis Studio LLP\n"
            "67 Brical Street\n"
            "Manchester M1 2AE\n"
            "\n\n\n"
            "                                        Belpra Consulting Ltd\n"
            "Invoice no.: INV-77\n"
            "Total: 120.00 GBP\n"
        )
        values = _extract(text)

        assert values["seller_name"] == "Belpra Consulting Ltd"
        assert values["buyer_name"] == "Lortis Studio LLP"

    def test_a_bare_vat_id_with_valid_check_digits_in_the_letterhead_is_the_sellers(self) -> None:
        text = (
            "Au Bon Pain SARL - 3 chemin des Oliviers - 84340 Malaucène\n"
            "TVA : FR40303265045 - SIRET : 30326504500010\n"
            "\n\n"
            "Facture N° FA-2017-10\n"
            "Total TTC : 120,00 €\n"
        )
        assert _extract(text)["seller_vat_id"] == "FR40303265045"


class TestLabelledBlocks:
    def test_a_salutation_and_a_name_going_on_below_stay_whole(self) -> None:
        text = (
            "Verkäufer:\n"
            "Nummer      : 549910\n"
            "MVM Musterhafter\n"
            "Versicherungsverein Musterstadt a.G.\n"
            "Musterstr. 12\n"
            "DE 12345 Musterstadt\n"
            "\n"
            "Käufer:\n"
            "\n"
            "Herrn\n"
            "Max Mustermann\n"
            "\n"
            "Musterstr. 11\n"
            "DE 12346 Bad Musterhausen\n"
        )
        values = _extract(text)

        assert values["seller_name"] == "MVM Musterhafter Versicherungsverein Musterstadt a.G."
        assert values["buyer_name"] == "Herrn Max Mustermann"

    def test_a_customer_code_is_no_buyer_heading(self) -> None:
        text = (
            "Senostdar Forniture S.n.c.\n"
            "Viale Tansen 72\n"
            "00129 Roma\n"
            "\n\n"
            "Destinatario:\n"
            "Nixter Costruzioni S.a.s.\n"
            "Via Nixsen 160\n"
            "40107 Bologna\n"
            "\n\n"
            "Cod. cliente      Numero fattura\n"
            "47958             F2023-82746\n"
            "\n"
            "Descrizione\n"
        )
        assert _extract(text)["buyer_name"] == "Nixter Costruzioni S.a.s."

    def test_a_title_at_the_end_of_the_sellers_row_is_cut_off(self) -> None:
        text = (
            "Gravellum Bürotechnik UG (haftungsbeschränkt) RECHNUNG\n"
            "Molenallee 2\n"
            "20108 Hamburg\n"
            "\n\n"
            "Kunde:\n"
            "Prazet & Belora GmbH\n"
        )
        assert _extract(text)["seller_name"] == "Gravellum Bürotechnik UG (haftungsbeschränkt)"


class TestAddressBlocks:
    @pytest.mark.parametrize(
        ("line", "expected"),
        [("80066 München", True), ("3574 EF Utrecht", True), ("Manchester M1 2AE", True),
         ("88802Spielkreis", True), ("Cork T12 X405", True), ("Rechnungsnummer: INV-2020-1579", False),
         ("1.650,44 EUR", False), ("+43 556 906847", False), ("Datum: 28. Mai 2020", False)],
    )  # fmt: skip
    def test_tells_a_postcode_line_from_numbers_dates_and_phones(self, line: str, expected: bool) -> None:
        assert postal(line) is expected

    def test_a_heading_printed_as_the_first_line_is_the_blocks_heading_not_its_name(self) -> None:
        page = page_from_text("Adresse de livraison\nEntrepôt Nord SAS\n12 rue du Port\n59000 Lille\n")

        (block,) = address_blocks(page)

        assert block.name == "Entrepôt Nord SAS"
        assert block.heading is not None and block.heading.text == "Adresse de livraison"


def _generated(layout: str, language: str, seed: int, tmp_path: Path):  # noqa: ANN202 - (document, values)
    rng = random.Random(seed)
    doc = make_document(rng, "invoice", language, layout, unicode_font=False)
    pdf = tmp_path / f"{layout}-{language}-{seed}.pdf"
    write_document(doc, pdf, rng)
    pages, _ = read_pdf(pdf)
    values, _, _ = extract(pages)
    return doc, values


class TestGeneratedLayouts:
    """Letters print the addressee's VAT id under its address and the seller's in the footer."""

    @pytest.mark.parametrize("language", ["de", "en", "fr", "nl", "es", "it"])
    @pytest.mark.parametrize("layout", ["letter", "buyer_first", "seller_right"])
    def test_reads_both_parties_and_the_sellers_own_vat_id(self, layout: str, language: str, tmp_path: Path) -> None:
        checked = 0
        for seed in range(40):
            doc, values = _generated(layout, language, seed, tmp_path)
            if doc.buyer_vat_id is None or not doc.show_vat_id or doc.seller.vat_id is None:
                continue  # only pages where both VAT ids are printed
            assert values.get("seller_vat_id") == doc.seller.vat_id, (seed, values.get("seller_vat_id"))
            assert doc.buyer is not None and is_right("buyer_name", doc.buyer.name, values.get("buyer_name"))
            assert is_right("seller_name", doc.seller.name, values.get("seller_name"))
            checked += 1
            if checked == 2:
                break
        assert checked == 2
