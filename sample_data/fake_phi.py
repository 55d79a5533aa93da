"""Invented patients and an invented hospital, planted in every synthetic study.

Every string here is fictitious. They are deliberately distinctive (at least
eight characters, mixed letters and digits) so that a test can search a
de-identified file's raw bytes for them without tripping over pixel data that
happens to spell "DOE".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from casefiles.errors import ValidationError


@dataclass(frozen=True, slots=True)
class FakePatient:
    """One invented patient and the identifiers of one of their examinations."""

    name: str  # DICOM PN: FAMILY^GIVEN
    patient_id: str  # the medical record number (MRN)
    other_id: str  # an enterprise ID, for OtherPatientIDsSequence
    birth_date: str  # DICOM DA: YYYYMMDD
    sex: str
    address: str
    phone: str
    accession: str
    requested_procedure_id: str
    study_date: str  # DICOM DA
    study_time: str  # DICOM TM

    def __post_init__(self) -> None:
        family, _, given = self.name.partition("^")
        if not family or not given:
            raise ValidationError("FakePatient name must be FAMILY^GIVEN.")
        for field_name, value, limit in (
            ("patient_id", self.patient_id, 64),
            ("accession", self.accession, 16),
            ("requested_procedure_id", self.requested_procedure_id, 16),
            ("phone", self.phone, 16),
        ):
            if not value or len(value) > limit:
                raise ValidationError(f"FakePatient {field_name} must be 1-{limit} characters.")
        dt.datetime.strptime(self.birth_date, "%Y%m%d")
        dt.datetime.strptime(self.study_date, "%Y%m%d")
        if self.sex not in {"M", "F", "O"}:
            raise ValidationError("FakePatient sex must be M, F or O.")

    @property
    def display_name(self) -> str:
        """ "JOHN SMITH": how a name is typed into free text and burned into pixels."""
        family, _, given = self.name.partition("^")
        return f"{given} {family}"

    @property
    def birth_date_us(self) -> str:
        """The birth date as a US clinician types it: 03/14/1958."""
        d = _date(self.birth_date)
        return f"{d.month:02d}/{d.day:02d}/{d.year}"

    @property
    def birth_date_text(self) -> str:
        """The birth date as many RIS print it: 14-MAR-1958."""
        d = _date(self.birth_date)
        return f"{d.day:02d}-{d.strftime('%b').upper()}-{d.year}"

    @property
    def study_date_us(self) -> str:
        d = _date(self.study_date)
        return f"{d.month:02d}/{d.day:02d}/{d.year}"

    @property
    def age(self) -> str:
        """DICOM AS at the study date, e.g. 065Y."""
        born, seen = _date(self.birth_date), _date(self.study_date)
        years = seen.year - born.year - ((seen.month, seen.day) < (born.month, born.day))
        return f"{years:03d}Y"

    @property
    def identifiers(self) -> tuple[str, ...]:
        """Every identifying string of this patient that the generators plant."""
        return (
            self.name,
            self.display_name,
            self.patient_id,
            self.other_id,
            self.birth_date,
            self.birth_date_us,
            self.birth_date_text,
            self.address,
            self.phone,
            self.accession,
            self.requested_procedure_id,
        )


def _date(da: str) -> dt.date:
    return dt.date(int(da[:4]), int(da[4:6]), int(da[6:8]))


@dataclass(frozen=True, slots=True)
class FakeSite:
    """The invented hospital, its staff and its scanners."""

    institution: str
    institution_address: str
    department: str
    referring_physician: str
    performing_physician: str
    reading_physician: str
    operator: str

    @property
    def identifiers(self) -> tuple[str, ...]:
        return (
            self.institution,
            self.institution_address,
            self.referring_physician,
            self.performing_physician,
            self.reading_physician,
            self.operator,
        )


SMITH_JOHN = FakePatient(
    name="SMITH^JOHN",
    patient_id="SJ44109271",
    other_id="EMPI-7730-1145",
    birth_date="19580314",
    sex="M",
    address="42 WALLABY WAY^SPRINGFIELD^IL^62704",
    phone="(217) 555-0142",
    accession="A24011788301",
    requested_procedure_id="RP-88341207",
    study_date="20240117",
    study_time="093412",
)

DOE_JANE = FakePatient(
    name="DOE^JANE",
    patient_id="DJ20938817",
    other_id="EMPI-5521-0093",
    birth_date="19830902",
    sex="F",
    address="7 EVERGREEN TERRACE^SHELBYVILLE^KY^40065",
    phone="(502) 555-0199",
    accession="A24030566127",
    requested_procedure_id="RP-66127730",
    study_date="20240305",
    study_time="141055",
)

GARCIA_MARIA = FakePatient(
    name="GARCIA^MARIA",
    patient_id="GM73310554",
    other_id="EMPI-9048-2276",
    birth_date="19711125",
    sex="F",
    address="1600 MOCKINGBIRD LANE^MAYFIELD^OH^44143",
    phone="(440) 555-0187",
    accession="A24052190415",
    requested_procedure_id="RP-90415562",
    study_date="20240521",
    study_time="075830",
)

PATIENTS: tuple[FakePatient, ...] = (SMITH_JOHN, DOE_JANE, GARCIA_MARIA)

SITE = FakeSite(
    institution="ST ELSEWHERE GENERAL HOSPITAL",
    institution_address="1 ELSEWHERE PLAZA, BOSTON MA 02199",
    department="DIAGNOSTIC IMAGING ELSEWHERE",
    referring_physician="WELBY^MARCUS^^DR",
    performing_physician="CASEY^BENJAMIN",
    reading_physician="KILDARE^JAMES^^DR",
    operator="RATCHED^MILDRED",
)


@dataclass(frozen=True, slots=True)
class FakeDevice:
    """A scanner: station names and serial numbers identify a site."""

    station_name: str
    serial_number: str
    manufacturer: str
    model: str


DEVICES: dict[str, FakeDevice] = {
    "CT": FakeDevice("ELSEWHERE-CT01", "SN-CT-998124", "ACME MEDICAL", "Tomograph 64"),
    "MR": FakeDevice("ELSEWHERE-MR02", "SN-MR-447190", "ACME MEDICAL", "Magnetom 1.5"),
    "CR": FakeDevice("ELSEWHERE-CR03", "SN-CR-330861", "ACME MEDICAL", "Radiograph Plate"),
    "US": FakeDevice("ELSEWHERE-US04", "SN-US-572203", "ACME MEDICAL", "Sonar 500"),
}

FAKE_PHI: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            *(s for p in PATIENTS for s in p.identifiers),
            *SITE.identifiers,
            *(s for d in DEVICES.values() for s in (d.station_name, d.serial_number)),
        ]
    )
)
"""Every identifying string planted anywhere in the synthetic studies (tags, free text, private blocks).

Names in DICOM form and as typed, MRNs, enterprise IDs, accession numbers,
requested-procedure IDs, birth dates in three formats, addresses, phones,
institution, physicians, operator, station names and device serial numbers.
Study dates and times are planted too but are not listed: a profile may shift
rather than remove them.
"""
