"""Ministry of Internal Affairs (IIV / MVD): its crime report registry's native records.

The registry sends reports with Uzbek field names, dates as DD.MM.YYYY, registration times on
Tashkent wall-clock time without an offset, severity as the Criminal Code's class number and
status as its own codes. A native record looks like::

    {"xabar_raqami": "IIV-2026-0012345", "royxatga_olingan_vaqt": "2026-11-20 10:15:00",
     "hodisa_sanasi": "19.11.2026", "idora_kodi": "mvd.tashkent-city", "hudud_soato": "1726",
     "jk_moddalari": "169-3", "ogirlik_toifasi": "3", "holat": "QAYD_ETILDI",
     "qisqacha_mazmun": "...", "arizachi": {"jshshir": "...", "familiya": "...", "ismi": "..."},
     "manzil": {"soato": "1726273", "tuman": "Yunusobod", "matn": "..."}}
"""

from __future__ import annotations

from adapters.converters import (
    code_table,
    comma_list,
    dotted_date,
    soato_region,
    tashkent_datetime,
)
from adapters.mapping import FieldMap, MappingAdapter

#: Criminal Code of Uzbekistan, art. 15: classes of crimes by their gravity.
SEVERITY_CLASSES = {
    "1": "minor",  # ijtimoiy xavfi katta boʻlmagan
    "2": "less_grave",  # unchalik ogʻir boʻlmagan
    "3": "grave",  # ogʻir
    "4": "especially_grave",  # oʻta ogʻir
}

REPORT_STATUSES = {
    "QAYD_ETILDI": "registered",
    "TEKSHIRUVDA": "under_review",
    "ISH_QOZGATILDI": "case_opened",
    "RAD_ETILDI": "refused",
    "YUBORILDI": "transferred",
    "YOPILDI": "closed",
}

CRIME_REPORT = MappingAdapter(
    "mvd.crime_report",
    "crime_report/1",
    [
        FieldMap("report_number", "xabar_raqami"),
        FieldMap("registered_at", "royxatga_olingan_vaqt", tashkent_datetime),
        FieldMap("incident_date", "hodisa_sanasi", dotted_date),
        FieldMap("registering_agency", "idora_kodi"),
        FieldMap("region", "hudud_soato", soato_region),
        FieldMap("criminal_code_articles", "jk_moddalari", comma_list),
        FieldMap("severity", "ogirlik_toifasi", code_table(SEVERITY_CLASSES, "severity class")),
        FieldMap("status", "holat", code_table(REPORT_STATUSES, "status")),
        FieldMap("summary", "qisqacha_mazmun"),
        FieldMap("applicant.pinfl", "arizachi.jshshir"),
        FieldMap("applicant.last_name", "arizachi.familiya"),
        FieldMap("applicant.first_name", "arizachi.ismi"),
        FieldMap("applicant.patronymic", "arizachi.otasining_ismi"),
        FieldMap("applicant.birth_date", "arizachi.tugilgan_sana", dotted_date),
        FieldMap("location.region", "manzil.soato", soato_region),
        FieldMap("location.district", "manzil.tuman"),
        FieldMap("location.text", "manzil.matn"),
    ],
)
