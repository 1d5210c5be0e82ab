"""State Tax Committee (Soliq qoʻmitasi): its register of legal entities.

The register sends organizations with English-ish field names, legal forms as Uzbek
abbreviations, status as a number, and the director's full name in one upper-case string::

    {"tin": "301234567", "company_name": "\\"Registon Savdo\\" MChJ", "opf": "MChJ",
     "reg_date": "2015-03-01", "status_code": 1, "oked": "47190", "soato": "1726290",
     "address": "...", "director": {"pinfl": "...", "fio": "KARIMOV ANVAR ALIYEVICH"}}
"""

from __future__ import annotations

from adapters.converters import code_table, full_name, iso_date, soato_region
from adapters.mapping import FieldMap, MappingAdapter

LEGAL_FORMS = {
    "MChJ": "llc",  # masʼuliyati cheklangan jamiyat
    "AJ": "jsc",  # aksiyadorlik jamiyati
    "DK": "state_enterprise",  # davlat korxonasi
    "XK": "private_enterprise",  # xususiy korxona
    "OK": "family_enterprise",  # oilaviy korxona
    "FX": "farm",  # fermer xoʻjaligi
    "YaTT": "individual_entrepreneur",  # yakka tartibdagi tadbirkor
    "NNT": "non_commercial",  # nodavlat notijorat tashkiloti
    "BOSHQA": "other",
}

ORGANIZATION_STATUSES = {
    "1": "active",
    "2": "suspended",
    "3": "in_liquidation",
    "4": "liquidated",
}

ORGANIZATION = MappingAdapter(
    "soliq.organization",
    "organization/1",
    [
        FieldMap("stir", "tin"),
        FieldMap("name", "company_name"),
        FieldMap("legal_form", "opf", code_table(LEGAL_FORMS, "legal form")),
        FieldMap("registered_on", "reg_date", iso_date),
        FieldMap(
            "status",
            "status_code",
            code_table(ORGANIZATION_STATUSES, "status"),
            native_type="integer",
        ),
        FieldMap("liquidated_on", "liquidation_date", iso_date),
        FieldMap("oked", "oked"),
        FieldMap("address.region", "soato", soato_region),
        FieldMap("address.text", "address"),
        FieldMap("director.pinfl", "director.pinfl"),
        FieldMap("director", "director.fio", full_name),
    ],
)
