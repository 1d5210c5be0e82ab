"""The generated WSDL: a standard client (zeep) loads it for every shipped adapter and builds
requests that the gateway reads back as the native record."""

import pytest
import zeep
from lxml import etree

from adapters import ADAPTERS
from gateway.soap import (
    SOAP11,
    SOAP12,
    feed_endpoint,
    feed_namespace,
    parse_xml,
    read_envelope,
    read_records,
    read_xroad,
    record_elements,
    render_wsdl,
)
from gateway.soap.xroad import UNDERSTOOD
from tests.support.records import load

ADDRESS = "http://gateway.test:8080/soap/test-feed"


def zeep_client(tmp_path, adapter, max_batch=1000):
    """A zeep client for a feed of ``adapter``, from the WSDL written to a file."""
    wsdl = tmp_path / "feed.wsdl"
    endpoint = feed_endpoint(
        "test-feed", adapter.native_shape(), max_batch=max_batch, address=ADDRESS
    )
    wsdl.write_bytes(render_wsdl(endpoint))
    return zeep.Client(str(wsdl))


def names(shape):
    """Every native field name of a shape, nested ones too."""
    for field in shape:
        yield field.name
        yield from names(field.fields or ())


def is_xml_name(name):
    """True when ``name`` can name an element (an NCName)."""
    try:
        etree.Element(name)
    except ValueError:
        return False
    return ":" not in name


def xml_names(shape):
    """True when every native field name of ``shape`` can name an XML element."""
    return all(is_xml_name(n) for n in names(shape))


# the adapters a SOAP feed may use; a CSV adapter with spaces in its column names may not
SOAP_ADAPTERS = sorted(n for n, a in ADAPTERS.items() if xml_names(a.native_shape()))


def test_only_file_adapters_have_names_soap_cannot_carry():
    """Every shipped adapter but the CSV ones can be the adapter of a SOAP feed."""
    assert {"registry.inspection_csv"} == set(ADAPTERS) - set(SOAP_ADAPTERS)


@pytest.mark.parametrize("name", SOAP_ADAPTERS)
def test_wsdl_of_every_adapter_loads_in_zeep(tmp_path, name):
    """zeep loads the WSDL of a feed of each shipped adapter, with both SOAP versions."""
    client = zeep_client(tmp_path, ADAPTERS[name])
    ports = client.wsdl.services["test-feed"].ports
    assert {"Soap11": ADDRESS, "Soap12": ADDRESS} == {
        port: ports[port].binding_options["address"] for port in ports
    }


@pytest.mark.parametrize("name", SOAP_ADAPTERS)
def test_wsdl_of_every_adapter_names_its_native_fields(tmp_path, name):
    """The record type carries every native field of the adapter, by its native name."""
    adapter = ADAPTERS[name]
    record = zeep_client(tmp_path, adapter).get_element(f"{{{feed_namespace('test-feed')}}}Push")
    record_type = record.type.elements[0][1].type
    assert [f.name for f in adapter.native_shape()] == [n for n, _ in record_type.elements]


def test_wsdl_names_nested_native_fields(tmp_path):
    """Nested native fields (the applicant's PINFL) are in the record type too."""
    wsdl = render_wsdl(
        feed_endpoint(
            "test-feed", ADAPTERS["mvd.crime_report"].native_shape(), max_batch=5, address=ADDRESS
        )
    ).decode()
    assert all(f'name="{name}"' in wsdl for name in ("arizachi", "jshshir", "manzil", "matn"))


def test_record_count_is_bounded_by_max_batch(tmp_path):
    """A Push holds 1 to max_batch records."""
    client = zeep_client(tmp_path, ADAPTERS["mvd.crime_report"], max_batch=25)
    record = client.get_element(f"{{{feed_namespace('test-feed')}}}Push").type.elements[0][1]
    assert (1, 25) == (record.min_occurs, record.max_occurs)


def test_required_canonical_fields_are_required(tmp_path):
    """A canonical adapter's required fields have minOccurs 1, optional ones 0."""
    client = zeep_client(tmp_path, ADAPTERS["canonical.crime_report"])
    record_type = client.get_element(f"{{{feed_namespace('test-feed')}}}Push").type
    fields = dict(record_type.elements[0][1].type.elements)
    assert (1, 0) == (fields["report_number"].min_occurs, fields["incident_date"].min_occurs)


@pytest.mark.parametrize(("port", "version"), [("Soap11", SOAP11), ("Soap12", SOAP12)])
def test_zeep_request_is_read_back_as_the_native_record(tmp_path, port, version):
    """What zeep builds from the WSDL, the gateway reads as the record REST would get."""
    native = load("mvd_crime_report")
    client = zeep_client(tmp_path, ADAPTERS["mvd.crime_report"])
    service = client.bind("test-feed", port)
    message = client.create_message(service, "Push", record=[native])
    envelope = read_envelope(parse_xml(etree.tostring(message)), version)
    namespace = feed_namespace("test-feed")
    records, invalid = read_records(
        record_elements(envelope.body, namespace),
        ADAPTERS["mvd.crime_report"].native_shape(),
        namespace,
    )
    assert ([native], []) == (records, invalid)


def test_zeep_sends_the_xroad_headers_the_wsdl_declares(tmp_path):
    """zeep sends X-Road headers given as _soapheaders, and the gateway reads them."""
    client = zeep_client(tmp_path, ADAPTERS["mvd.crime_report"])
    message = client.create_message(
        client.service,
        "Push",
        record=[load("mvd_crime_report")],
        _soapheaders={
            "client": {
                "xRoadInstance": "UZ",
                "memberClass": "GOV",
                "memberCode": "IIV",
                "subsystemCode": "crime-registry",
                "objectType": "SUBSYSTEM",
            },
            "userId": "u.karimov",
            "issue": "1-1203/26",
        },
    )
    envelope = read_envelope(parse_xml(etree.tostring(message)), SOAP11, understood=UNDERSTOOD)
    headers = read_xroad(envelope.headers)
    assert ("SUBSYSTEM:UZ/GOV/IIV/crime-registry", "u.karimov", "1-1203/26") == (
        headers.client,
        headers.user_id,
        headers.issue,
    )
