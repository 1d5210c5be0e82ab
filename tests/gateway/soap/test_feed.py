"""A feed's Push operation: records read from XML as the JSON the REST channel would get."""

import re

import pytest
from lxml import etree

from adapters import ADAPTERS
from gateway.ingest import RecordReceipt
from gateway.soap import (
    UnexpectedElementError,
    UnknownOperationError,
    feed_namespace,
    push_response,
    read_records,
    record_elements,
)

NS = feed_namespace("test-feed")
MVD = ADAPTERS["mvd.crime_report"].native_shape()
SOLIQ = ADAPTERS["soliq.organization"].native_shape()
COURT = ADAPTERS["canonical.court_decision"].native_shape()
INSPECTION = ADAPTERS["canonical.inspection"].native_shape()


def push(*records, namespace=NS, operation="Push"):
    """A Push element with ``records`` (each the inner XML of a <record>)."""
    inner = "".join(f"<record>{r}</record>" for r in records)
    return etree.fromstring(
        f"<{operation} xmlns='{namespace}' "
        f"xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'>{inner}</{operation}>"
    )


def read(shape, *records):
    """(native records, invalid) of a Push of ``records``."""
    return read_records(record_elements(push(*records), NS), shape, NS)


def test_record_becomes_the_json_rest_would_get():
    """Fields are read by their native names; nested ones become objects."""
    records, invalid = read(
        MVD,
        "<xabar_raqami>IIV-1</xabar_raqami><ogirlik_toifasi>3</ogirlik_toifasi>"
        "<arizachi><jshshir>31205850123456</jshshir><ismi>Dilnoza</ismi></arizachi>",
    )
    assert (
        [
            {
                "xabar_raqami": "IIV-1",
                "ogirlik_toifasi": "3",
                "arizachi": {"jshshir": "31205850123456", "ismi": "Dilnoza"},
            }
        ],
        [],
    ) == (records, invalid)


def test_integer_field_becomes_a_number():
    """A field the ministry sends as a number (the Tax Committee's status) is read as one."""
    [record], _ = read(SOLIQ, "<status_code> 3 </status_code>")
    assert {"status_code": 3} == record


def test_integer_field_that_is_not_a_number_stays_text():
    """Text that is no integer is passed on as it is, for the adapter to refuse in its words."""
    [record], _ = read(SOLIQ, "<status_code>three</status_code>")
    assert {"status_code": "three"} == record


def test_repeated_field_becomes_a_list_even_of_one():
    """A repeated field is a list, even with one element."""
    [record], _ = read(COURT, "<criminal_code_articles>169</criminal_code_articles>")
    assert {"criminal_code_articles": ["169"]} == record


def test_canonical_integer_field_is_read_as_a_number():
    """A canonical schema's integer field is read as an integer."""
    [record], _ = read(INSPECTION, "<violations_found>2</violations_found>")
    assert {"violations_found": 2} == record


def test_nil_element_is_null():
    """xsi:nil="true" is JSON null."""
    [record], _ = read(MVD, "<arizachi xsi:nil='true'/>")
    assert {"arizachi": None} == record


def test_unknown_element_passes_through_for_the_adapter_to_name():
    """An element the shape does not know is passed on (the adapter refuses it by name)."""
    [record], invalid = read(MVD, "<colour>red</colour><extra><a>1</a></extra>")
    assert ({"colour": "red", "extra": {"a": "1"}}, []) == (record, invalid)


def test_element_of_a_foreign_namespace_is_not_taken_for_a_field():
    """<o:xabar_raqami> of another namespace is not the feed's field of that name."""
    [record], _ = read(MVD, "<o:xabar_raqami xmlns:o='urn:other'>IIV-1</o:xabar_raqami>")
    assert {"{urn:other}xabar_raqami": "IIV-1"} == record


def test_unqualified_fields_are_read_too():
    """Fields in no namespace (a hand-written request) are read like qualified ones."""
    [record], _ = read(MVD, "<xabar_raqami xmlns=''>IIV-1</xabar_raqami>")
    assert {"xabar_raqami": "IIV-1"} == record


def test_field_given_twice_is_a_problem():
    """A single-valued field given twice is a problem of that record and field."""
    _, invalid = read(MVD, "<holat>A</holat>", "<holat>A</holat><holat>B</holat>")
    problem = {"field": "holat", "message": "given more than once; takes one value"}
    assert [{"index": 1, "problems": [problem]}] == invalid


def test_value_field_holding_elements_is_a_problem():
    """A value field must hold text."""
    _, invalid = read(MVD, "<arizachi><jshshir><x/></jshshir></arizachi>")
    assert [{"field": "arizachi.jshshir", "message": "holds elements; expected a value"}] == (
        invalid[0]["problems"]
    )


def test_nested_field_holding_text_is_a_problem():
    """A nested field must hold its fields."""
    _, invalid = read(MVD, "<manzil>Yunusobod</manzil>")
    assert [{"field": "manzil", "message": "holds text; expected its fields"}] == (
        invalid[0]["problems"]
    )


def test_every_record_is_read_in_order():
    """A batch's records come in order."""
    records, _ = read(MVD, "<xabar_raqami>A</xabar_raqami>", "<xabar_raqami>B</xabar_raqami>")
    assert ["A", "B"] == [r["xabar_raqami"] for r in records]


def test_other_operation_is_unknown():
    """An operation other than Push is client.unknown_operation."""
    with pytest.raises(UnknownOperationError, match=re.escape(f"no operation {{{NS}}}Delete here")):
        record_elements(push(operation="Delete"), NS)


def test_push_of_another_namespace_is_unknown():
    """Push of another feed's namespace is not this feed's operation."""
    with pytest.raises(UnknownOperationError):
        record_elements(push(namespace=feed_namespace("other")), NS)


def test_push_holds_only_records():
    """Anything but <record> inside Push is refused."""
    with pytest.raises(UnexpectedElementError, match=re.escape(f"found {{{NS}}}rec")):
        record_elements(etree.fromstring(f"<Push xmlns='{NS}'><rec/></Push>"), NS)


def test_response_has_the_correlation_id_and_every_receipt():
    """PushResponse: the correlation id, then per record its index, id, status and routes."""
    response = push_response(
        NS,
        "corr-1",
        [
            RecordReceipt(0, "m0", "accepted", ("etergov.crime-reports",)),
            RecordReceipt(1, "m1", "duplicate", ()),
        ],
    )
    q = f"{{{NS}}}"
    assert (
        "corr-1",
        [("0", "m0", "accepted", ["etergov.crime-reports"]), ("1", "m1", "duplicate", [])],
    ) == (
        response.findtext(f"{q}correlationId"),
        [
            (
                r.findtext(f"{q}index"),
                r.findtext(f"{q}messageId"),
                r.findtext(f"{q}status"),
                [route.text for route in r.findall(f"{q}route")],
            )
            for r in response.findall(f"{q}receipt")
        ],
    )
