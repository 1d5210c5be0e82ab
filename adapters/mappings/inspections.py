"""Unified Electronic Register of Inspections: the inspection records inspecting agencies
export for it, as CSV files in Windows-1251 with a semicolon delimiter and Russian column
names (as the Register's exports are made in a spreadsheet)::

    Номер проверки;Код органа;ИНН субъекта;Вид проверки;Статус;Основание;Дата начала;
    Дата окончания;Выявлено нарушений;ПИНФЛ инспектора;Фамилия инспектора;Имя инспектора;
    Отчество инспектора
    2026/TSH/000123;soliq.toshkent-sh;301234567;плановая;завершена;"Приказ № 45 от 12.01.2026";
    15.01.2026;22.01.2026;2;31205850123456;Каримов;Анвар;Алиевич

Dates are DD.MM.YYYY; the kind and status of an inspection are the Register's own words
(lower case); an empty cell is an absent value. The inspector's columns are one person: all
empty for none, else at least the last and first name.
"""

from __future__ import annotations

from adapters.converters import code_table, dotted_date
from adapters.mapping import FieldMap, MappingAdapter

INSPECTION_KINDS = {
    "плановая": "planned",
    "внеплановая": "unplanned",
    "встречная": "counter",
}

INSPECTION_STATUSES = {
    "назначена": "scheduled",
    "проводится": "in_progress",
    "завершена": "completed",
    "приостановлена": "suspended",
    "отменена": "cancelled",
}

INSPECTION_CSV = MappingAdapter(
    "registry.inspection_csv",
    "inspection/1",
    [
        FieldMap("inspection_number", "Номер проверки"),
        FieldMap("inspecting_agency", "Код органа"),
        FieldMap("subject_stir", "ИНН субъекта"),
        FieldMap("kind", "Вид проверки", code_table(INSPECTION_KINDS, "inspection kind")),
        FieldMap("status", "Статус", code_table(INSPECTION_STATUSES, "inspection status")),
        FieldMap("legal_basis", "Основание"),
        FieldMap("start_date", "Дата начала", dotted_date),
        FieldMap("end_date", "Дата окончания", dotted_date),
        FieldMap("violations_found", "Выявлено нарушений", native_type="integer"),
        FieldMap("inspector.pinfl", "ПИНФЛ инспектора"),
        FieldMap("inspector.last_name", "Фамилия инспектора"),
        FieldMap("inspector.first_name", "Имя инспектора"),
        FieldMap("inspector.patronymic", "Отчество инспектора"),
    ],
)
