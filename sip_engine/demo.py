"""Demo data for Göteborgsområdet: the 14 NOSAM areas, their verksamheter, a few accounts and
about fifty fictional children's cases spread over every step of the SIP process.

Every case is driven through the real services and the workflow engine, so it passed the same
guards as a real case and carries a full history. That history is written with a clock set into
the past, relative to ``now``: whenever the demo is loaded, meetings in step 3 lie ahead, a
meeting in step 4 has just started and follow-ups in step 5 are due in the coming weeks.

People are fictional; organisation names are those of the area. A fixed seed makes the content
the same on every load. ``load_demo`` only adds and flushes; the caller commits once.
"""

from __future__ import annotations

import random
import re
import secrets
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import cycle

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock, local_date, stockholm
from sip_engine.identity import make_identity_number
from sip_engine.models import (
    Case,
    CaseEvent,
    Child,
    Consent,
    ConsentForm,
    FunctionRole,
    HealthExamRequest,
    MeetingFormat,
    NosamArea,
    Organisation,
    Participant,
    Party,
    PlacementBasis,
    PlacementForm,
    Professional,
    RaisedBy,
    RelativeKind,
    Role,
    User,
)
from sip_engine.passwords import hash_password
from sip_engine.services import cases, consent, meetings, participants, placements, plans
from sip_engine.workflow import Actor, WorkflowDefinition, WorkflowEngine

SEED = 2021  # the year of ÖK barn och unga; any fixed value keeps the demo deterministic

# The demo accounts (documented in the README). Only these can sign in with a known password.
DEMO_PASSWORDS: dict[str, str] = {
    "samordnare": "sip-demo-samordnare",
    "samordnare2": "sip-demo-samordnare2",
    "chef": "sip-demo-chef",
    "deltagare": "sip-demo-deltagare",
    "admin": "sip-demo-admin",
}
HOME_AREA = "Angered"  # unit of samordnare, chef and admin; deltagare works at BUP Angered
SECOND_AREA = "Mölndal"  # unit of samordnare2

# --- Geography and organisations ------------------------------------------------------------

# NOSAM area, kommun, and the district that names its vårdcentral and Folktandvården clinic.
_AREAS: tuple[tuple[str, str, str], ...] = (
    ("Angered", "Göteborg", "Hjällbo"),
    ("Askim-Frölunda-Högsbo", "Göteborg", "Frölunda"),
    ("Centrum", "Göteborg", "Kungshöjd"),
    ("Lundby", "Göteborg", "Lundby"),
    ("Majorna-Linné", "Göteborg", "Majorna"),
    ("Norra Hisingen", "Göteborg", "Backa"),
    ("Västra Göteborg", "Göteborg", "Tynnered"),
    ("Västra Hisingen", "Göteborg", "Torslanda"),
    ("Örgryte-Härlanda", "Göteborg", "Härlanda"),
    ("Östra Göteborg", "Göteborg", "Bergsjön"),
    ("Partille", "Partille", "Partille"),
    ("Härryda", "Härryda", "Mölnlycke"),
    ("Mölndal", "Mölndal", "Mölndal"),
    ("Öckerö", "Öckerö", "Öckerö"),
)

_HUVUDMAN = {
    "Göteborg": "Göteborgs Stad",
    "Partille": "Partille kommun",
    "Härryda": "Härryda kommun",
    "Mölndal": "Mölndals stad",
    "Öckerö": "Öckerö kommun",
}
REGION = "Västra Götalandsregionen"

# Förskola and grundskola of each area.
_SCHOOLS: dict[str, tuple[str, str]] = {
    "Angered": ("Förskolan Rannebergen", "Hjällboskolan"),
    "Askim-Frölunda-Högsbo": ("Förskolan Askim", "Hovåsskolan"),
    "Centrum": ("Förskolan Guldheden", "Johannebergsskolan"),
    "Lundby": ("Förskolan Kvillebäcken", "Bjurslättsskolan"),
    "Majorna-Linné": ("Förskolan Kungsladugård", "Oscar Fredriksskolan"),
    "Norra Hisingen": ("Förskolan Backa", "Kärrdalsskolan"),
    "Västra Göteborg": ("Förskolan Önnered", "Önneredsskolan"),
    "Västra Hisingen": ("Förskolan Torslanda", "Torslandaskolan"),
    "Örgryte-Härlanda": ("Förskolan Björkekärr", "Björkekärrsskolan"),
    "Östra Göteborg": ("Förskolan Bergsjön", "Bergsjöskolan"),
    "Partille": ("Förskolan Furulund", "Furulundsskolan"),
    "Härryda": ("Förskolan Mölnlycke", "Ekdalaskolan"),
    "Mölndal": ("Förskolan Toltorp", "Toltorpsskolan"),
    "Öckerö": ("Förskolan Hönö", "Hönö skola"),
}

# Units that serve several areas: kind -> unit -> the areas it serves (its catchment).
_SHARED_UNITS: dict[str, dict[str, tuple[str, ...]]] = {
    "gymnasium": {
        "Angeredsgymnasiet": ("Angered", "Östra Göteborg"),
        "Hvitfeldtska gymnasiet": ("Centrum", "Askim-Frölunda-Högsbo", "Västra Göteborg"),
        "Schillerska gymnasiet": ("Majorna-Linné",),
        "Burgårdens gymnasium": ("Örgryte-Härlanda",),
        "Lindholmens tekniska gymnasium": ("Lundby", "Norra Hisingen", "Västra Hisingen"),
        "Partille gymnasium": ("Partille",),
        "Hulebäcksgymnasiet": ("Härryda",),
        "Krokslättsgymnasiet": ("Mölndal",),
        "Öckerö seglande gymnasieskola": ("Öckerö",),
    },
    "BUP": {
        "BUP Angered": ("Angered",),
        "BUP Öster": ("Östra Göteborg", "Örgryte-Härlanda"),
        "BUP Centrum": ("Centrum", "Majorna-Linné"),
        "BUP Hisingen": ("Lundby", "Norra Hisingen", "Västra Hisingen", "Öckerö"),
        "BUP Sydväst": ("Askim-Frölunda-Högsbo", "Västra Göteborg"),
        "BUP Mölndal": ("Mölndal", "Härryda"),
        "BUP Partille": ("Partille",),
    },
    "habilitering": {
        "Barn- och ungdomshabiliteringen Nordost": (
            "Angered",
            "Östra Göteborg",
            "Örgryte-Härlanda",
            "Partille",
        ),
        "Barn- och ungdomshabiliteringen Centrum": ("Centrum", "Majorna-Linné"),
        "Barn- och ungdomshabiliteringen Hisingen": (
            "Lundby",
            "Norra Hisingen",
            "Västra Hisingen",
            "Öckerö",
        ),
        "Barn- och ungdomshabiliteringen Sydväst": (
            "Askim-Frölunda-Högsbo",
            "Västra Göteborg",
            "Mölndal",
            "Härryda",
        ),
    },
    "barn- och ungdomsmedicin": {
        "Barn- och ungdomsmedicin Angered": ("Angered", "Östra Göteborg", "Partille"),
        "Barn- och ungdomsmedicin Hisingen": (
            "Lundby",
            "Norra Hisingen",
            "Västra Hisingen",
            "Öckerö",
        ),
        "Barn- och ungdomsmedicin Mölndal": ("Mölndal", "Härryda"),
        "Drottning Silvias barn- och ungdomssjukhus": (
            "Centrum",
            "Majorna-Linné",
            "Örgryte-Härlanda",
            "Askim-Frölunda-Högsbo",
            "Västra Göteborg",
        ),
    },
    "ungdomsmottagning": {
        "Ungdomsmottagningen Angered": ("Angered",),
        "Ungdomsmottagningen Öster": ("Östra Göteborg", "Örgryte-Härlanda"),
        "Ungdomsmottagningen Centrum": ("Centrum", "Majorna-Linné"),
        "Ungdomsmottagningen Hisingen": ("Lundby", "Norra Hisingen", "Västra Hisingen"),
        "Ungdomsmottagningen Sydväst": ("Askim-Frölunda-Högsbo", "Västra Göteborg"),
        "Ungdomsmottagningen Partille": ("Partille",),
        "Ungdomsmottagningen Härryda": ("Härryda",),
        "Ungdomsmottagningen Mölndal": ("Mölndal",),
        "Ungdomsmottagningen Öckerö": ("Öckerö",),
    },
}

# Actors who are invited, not called (domain.md §3): kind -> (name, huvudman).
_OTHER_ACTORS: dict[str, tuple[str, str]] = {
    "försäkringskassa": ("Försäkringskassan", "Försäkringskassan"),
    "polis": ("Polisen, lokalpolisområde Storgöteborg", "Polismyndigheten"),
}

_PARTY_OF_KIND = {
    "socialtjänst": Party.KOMMUN,
    "förskola": Party.SKOLA,
    "grundskola": Party.SKOLA,
    "gymnasium": Party.SKOLA,
    "elevhälsa": Party.SKOLA,
}


def _party_of(kind: str) -> Party:
    """Kommun and skola kinds are listed; the other actors are annan; the rest is region."""
    if kind in _OTHER_ACTORS:
        return Party.ANNAN
    return _PARTY_OF_KIND.get(kind, Party.REGION)


# Titles of the people at each kind of verksamhet; one professional per title.
_TITLES: dict[str, tuple[str, ...]] = {
    "socialtjänst": ("Socialsekreterare", "Familjebehandlare"),
    "förskola": ("Förskollärare", "Specialpedagog"),
    "grundskola": ("Mentor", "Specialpedagog"),
    "gymnasium": ("Mentor", "Specialpedagog"),
    "elevhälsa": ("Skolkurator", "Skolsköterska"),
    "vårdcentral": ("Distriktssköterska", "Allmänläkare"),
    "folktandvård": ("Tandläkare", "Tandhygienist"),
    "BUP": ("Psykolog", "Läkare"),
    "habilitering": ("Arbetsterapeut", "Psykolog"),
    "barn- och ungdomsmedicin": ("Barnläkare", "Sjuksköterska"),
    "ungdomsmottagning": ("Kurator", "Barnmorska"),
    "försäkringskassa": ("Handläggare",),
    "polis": ("Ungdomspolis",),
}

_MAIL_DOMAIN = {  # reserved .example domains, so no demo mail can reach anyone
    "Göteborgs Stad": "goteborg.example",
    "Partille kommun": "partille.example",
    "Härryda kommun": "harryda.example",
    "Mölndals stad": "molndal.example",
    "Öckerö kommun": "ockero.example",
    REGION: "vgregion.example",
    "Försäkringskassan": "forsakringskassan.example",
    "Polismyndigheten": "polisen.example",
}

# --- People (fictional) -----------------------------------------------------------------------


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(sep))


_GIRLS = _words(
    "Alva Elsa Maja Wilma Ebba Saga Alice Olivia Amira Nour Selma Hanna Ines Sara Yasmin "
    "Linnea Freja Astrid Iman Zeynep Agnes Moa Leila Tuva"
)
_BOYS = _words(
    "Noah William Hugo Liam Elias Lucas Adam Oscar Ali Yusuf Omar Leo Melvin Theo Isak "
    "Ibrahim Emil Mohammed Viktor Arvid Milo Sami Albin Kevin"
)
_WOMEN = _words(
    "Maria Anna Sara Emma Johanna Linda Fatima Leyla Karin Jenny Sofia Elin Amina Helena "
    "Malin Therese Nadia Eva Camilla Lena"
)
_MEN = _words(
    "Erik Johan Anders Mikael Daniel Ahmed Hassan Mattias Peter Fredrik Mohamed Jonas "
    "Patrik Tobias Ali Marcus Niklas Stefan Omid Henrik"
)
_SURNAMES = _words(
    "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson "
    "Gustafsson Pettersson Jonsson Lindberg Lindqvist Berg Holm Ahmed Hassan Yilmaz Nowak "
    "Kovačević Hussein Abdi Sjöberg Wikström Strand Lundgren Ekström Hedlund Sandberg"
)
_STREETS = _words(
    "Storgatan, Björkvägen, Kvarngatan, Lövskogsgatan, Hjalmar Brantingsgatan, Ängsvägen, "
    "Smörslottsgatan, Allégatan, Sjöviksvägen, Granitvägen",
    ",",
)
_POSTCODE_PREFIX = {
    "Göteborg": ("415", "416", "417", "418", "421", "424"),
    "Partille": ("433",),
    "Härryda": ("435",),
    "Mölndal": ("431",),
    "Öckerö": ("475",),
}

# Children's ages when the demo is loaded, weighted towards school age (domain: 0–20 years).
_AGE_WEIGHTS = (1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 5, 5, 6, 6, 5, 4, 3, 2, 2)

# Which cases (by running number) have skyddade personuppgifter or a samordningsnummer.
_PROTECTED_CASES = frozenset({4, 19, 33})
_COORDINATION_NUMBER_CASES = frozenset({12})

# --- What the cases are about ---------------------------------------------------------------

# SIP reasons that fit each age band (codes from services.cases.SIP_REASONS).
_REASONS_BY_AGE: tuple[tuple[int, tuple[str, ...]], ...] = (
    (5, ("funktionsnedsattning", "somatisk_sjukdom", "placering", "vald_i_nara_relation")),
    (
        15,
        (
            "skolfranvaro",
            "psykisk_ohalsa",
            "funktionsnedsattning",
            "placering",
            "vald_i_nara_relation",
            "somatisk_sjukdom",
            "skolfranvaro",
            "psykisk_ohalsa",
            "annat",
        ),
    ),
    (20, ("psykisk_ohalsa", "missbruk", "skolfranvaro", "placering", "overgang_vuxen")),
)

# Region verksamheter each reason brings in. Placement: both parts of the health examination,
# at the vårdcentral and at Folktandvården (domain.md §5).
_REGION_KINDS: dict[str, tuple[str, ...]] = {
    "placering": ("vårdcentral", "folktandvård"),
    "skolfranvaro": ("BUP",),
    "psykisk_ohalsa": ("BUP",),
    "funktionsnedsattning": ("habilitering",),
    "missbruk": ("ungdomsmottagning",),
    "overgang_vuxen": ("BUP",),
    "vald_i_nara_relation": ("BUP",),
    "somatisk_sjukdom": ("barn- och ungdomsmedicin",),
    "annat": ("vårdcentral",),
}
_OTHER_ACTOR_FOR_REASON = {"overgang_vuxen": "försäkringskassa", "vald_i_nara_relation": "polis"}

# Which side usually holds the overall responsibility (huvudansvar) for each reason.
_LEAD_BY_REASON = {
    "placering": "socialtjänst",
    "vald_i_nara_relation": "socialtjänst",
    "missbruk": "socialtjänst",
    "annat": "socialtjänst",
    "skolfranvaro": "skola",
}  # otherwise the first region verksamhet


@dataclass(frozen=True)
class _Texts:
    need: str  # step 1, short description of the need
    question: str  # frågeställning for the meeting
    plan_needs: tuple[str, ...]
    goal: str  # in the child's words where possible
    delmal: tuple[tuple[str, ...], tuple[str, ...]]  # plan version 1, then later versions
    categories: tuple[str, ...]  # information the consent covers


_TEXTS: dict[str, _Texts] = {
    "placering": _Texts(
        "Placerad i familjehem. Hälsoundersökning och tandvård är inte gjorda och skolgången "
        "behöver säkras under placeringen.",
        "Hur säkrar vi hälsoundersökning, tandvård och en stabil skolgång under placeringen?",
        ("Hälsoundersökning och munhälsa", "Stabil skolgång", "Trygg kontakt med föräldrarna"),
        "Jag vill känna mig trygg där jag bor och ha kvar mina kompisar.",
        (
            ("Hälsoundersökning gjord inom fyra veckor", "Umgänge varannan helg"),
            ("Utlåtande från hälsoundersökningen återkopplat", "Fortsatt umgänge enligt plan"),
        ),
        ("halsa", "skola", "behov", "familj", "barnets_rost", "plan"),
    ),
    "skolfranvaro": _Texts(
        "Hög frånvaro från skolan sedan höstterminen; oro för måendet och sömnen.",
        "Hur får vi en fungerande skolgång, och vad ligger bakom frånvaron?",
        ("Stöd för att komma tillbaka till skolan", "Bedömning av måendet"),
        "Jag vill orka gå till skolan och inte vara ensam på rasterna.",
        (
            ("Närvaro tre dagar i veckan", "Fast tid med mentorn varje måndag"),
            ("Närvaro fyra dagar i veckan", "Delta i idrotten igen"),
        ),
        ("skola", "halsa", "plan"),
    ),
    "psykisk_ohalsa": _Texts(
        "Nedstämdhet och oro; har varit hemma från skolan i perioder. Familjen vill ha ett "
        "samlat stöd.",
        "Hur ska stödet från BUP, skolan och socialtjänsten hänga ihop?",
        ("Behandling för nedstämdhet", "Anpassningar i skolan", "Stöd till föräldrarna"),
        "Jag vill må bättre och kunna sova på nätterna.",
        (
            ("Samtal på BUP varje vecka", "Sova minst åtta timmar de flesta nätter"),
            ("Samtal varannan vecka", "Tillbaka på heltid i skolan"),
        ),
        ("halsa", "skola", "plan"),
    ),
    "funktionsnedsattning": _Texts(
        "Funktionsnedsättning som kräver samordnade anpassningar hemma och i förskola eller skola.",
        "Vilka anpassningar behövs hemma och i verksamheten, och vem ansvarar för vad?",
        ("Anpassad miljö och hjälpmedel", "Avlastning för familjen"),
        "Att det ska vara lugnt runt mig och att jag vet vad som händer.",
        (
            ("Bildstöd i vardagen hemma och i barngruppen", "Avlösare två kvällar i månaden"),
            ("Hjälpmedel utprovade", "Korttidsvistelse en helg i månaden"),
        ),
        ("halsa", "skola", "plan"),
    ),
    "missbruk": _Texts(
        "Oro för cannabisbruk; har slutat gå till gymnasiet regelbundet.",
        "Hur kan vi stötta att bryta bruket och hålla kvar skolgången?",
        ("Stöd att sluta med droger", "Plan för skolgången"),
        "Jag vill klara gymnasiet och slippa bråk hemma.",
        (
            ("Samtal på ungdomsmottagningen varje vecka", "Klara kurserna den här terminen"),
            ("Drogfri i tre månader", "Sommarjobb genom kommunen"),
        ),
        ("halsa", "behov", "familj", "barnets_rost"),
    ),
    "overgang_vuxen": _Texts(
        "Närmar sig vuxen ålder; behöver en planerad övergång från barn- till vuxenvård och "
        "stöd kring försörjning.",
        "Hur ser övergången till vuxenpsykiatrin ut, och vem stöttar kring försörjningen?",
        ("Övergång till vuxenpsykiatrin", "Försörjning och sysselsättning"),
        "Jag vill inte behöva börja om och berätta allt igen.",
        (
            ("Överlämningsmöte med vuxenpsykiatrin", "Ansökan om aktivitetsersättning"),
            ("Första besök i vuxenpsykiatrin gjort", "Praktikplats via kommunen"),
        ),
        ("halsa", "plan", "behov", "familj", "barnets_rost"),
    ),
    "vald_i_nara_relation": _Texts(
        "Har bevittnat våld i hemmet. Behov av trygghet i skolan och bearbetande samtal.",
        "Hur skapar vi trygghet hemma och i skolan, och vem ger bearbetande stöd?",
        ("Trygghet och skydd", "Bearbetande samtal"),
        "Jag vill att det ska vara lugnt hemma.",
        (
            ("Stödsamtal varje vecka", "Trygg vuxen i skolan varje dag"),
            ("Avslutad samtalsserie", "Fortsatt kontakt med trygg vuxen"),
        ),
        ("behov", "familj", "barnets_rost", "halsa", "skola"),
    ),
    "somatisk_sjukdom": _Texts(
        "Typ 1-diabetes med svängande värden; behöver stöd i skolan och hemma.",
        "Hur får vi en trygg diabetesvård under skoldagen?",
        ("Stöd med insulin och måltider under dagen", "Utbildning för personalen"),
        "Jag vill kunna vara med på allt som mina kompisar gör.",
        (
            ("Personalen utbildad i diabetesvård", "Stabila värden under skoldagen"),
            ("Följa med på skolresan", "Sköta mätningarna mer själv"),
        ),
        ("halsa", "skola"),
    ),
    "annat": _Texts(
        "Familjen är nyanländ och behöver hjälp att samordna kontakterna med skola och vård.",
        "Vilka kontakter behöver familjen, och vem hjälper dem att hitta rätt?",
        ("Samordning av kontakter", "Språkstöd"),
        "Jag vill lära mig svenska och få nya kompisar.",
        (
            ("Tolk vid alla möten", "Plats i förberedelseklass"),
            ("Studiehandledning på modersmålet", "Fritidsaktivitet varje vecka"),
        ),
        ("behov", "familj", "barnets_rost", "skola", "halsa"),
    ),
}

_INSATSER: dict[str, tuple[str, ...]] = {
    "socialtjänst": (
        "Familjebehandling i hemmet en gång i veckan",
        "Stödsamtal för vårdnadshavarna",
        "Kontaktperson enligt SoL",
    ),
    "förskola": ("Extra stöd i barngruppen", "Bildstöd och förutsägbara rutiner"),
    "grundskola": (
        "Extra anpassningar och anpassad studiegång",
        "Åtgärdsprogram med särskilt stöd",
    ),
    "gymnasium": ("Individuell studieplan och mentorssamtal varje vecka",),
    "elevhälsa": ("Samtalskontakt med skolkurator", "Hälsosamtal med skolsköterskan"),
    "vårdcentral": ("Hälsoundersökning, fysisk och psykisk hälsa", "Läkarbesök och uppföljning"),
    "folktandvård": ("Munhälsoundersökning", "Tandvård enligt behandlingsplan"),
    "BUP": ("Samtalsbehandling (KBT)", "Neuropsykiatrisk utredning", "Läkemedelsuppföljning"),
    "habilitering": ("Arbetsterapeut provar ut hjälpmedel", "Föräldrautbildning"),
    "barn- och ungdomsmedicin": ("Medicinsk uppföljning var tredje månad",),
    "ungdomsmottagning": ("Stödsamtal hos kurator",),
    "försäkringskassa": ("Information om aktivitetsersättning",),
    "polis": ("Samverkan kring trygghet på skolvägen",),
}

_CHILD_VOICES: tuple[tuple[int, tuple[str, ...]], ...] = (
    (6, ("Att få leka med kompisarna.", "Att mamma och pappa är glada.")),
    (
        12,
        (
            "Att jag får vara med mina kompisar i skolan.",
            "Att någon förstår när jag blir arg.",
            "Att vuxna inte bråkar om mig.",
        ),
    ),
    (
        20,
        (
            "Att vuxna pratar med mig och inte bara om mig.",
            "Att slippa berätta samma sak för alla.",
            "Att få klara skolan och ha en egen framtid.",
        ),
    ),
)
_TOO_YOUNG = (
    "Barnet är för litet för att uttrycka sig i ord; vårdnadshavarna har berättat om barnets "
    "vardag och personalen om vad de sett."
)
_GUARDIAN_VIEWS = (
    "Vi vill att alla som träffar vårt barn vet vad de andra gör.",
    "Vi är trötta på att upprepa samma sak vid varje möte.",
    "Vi vill ha en person att vända oss till.",
)
_OTHER_ACTIONS: tuple[dict[str, str], ...] = (
    {"who": "familjen", "what": "Hjälper till med rutiner för sömn och morgnar."},
    {"who": "barnet", "what": "Säger till sin kontaktperson när något känns svårt."},
    {"who": "familjen", "what": "Tar med sig frågor till nästa uppföljning."},
)

_CLOSE_NOTES = {
    "behov_saknas": "Behovet kan tillgodoses inom elevhälsan; ingen SIP behövs nu.",
    "samordning_behovs_inte": "Målen är nådda och samordning behövs inte längre.",
    "familjen_avbojer": "Familjen vill inte ha en SIP just nu; erbjuds igen vid behov.",
    "samtycke_aterkallat": "Vårdnadshavarna har återkallat samtycket.",
    "flyttat": "Familjen har flyttat till Borås; planen är överlämnad till socialtjänsten där.",
    "fyller_21": "Fyller 21 inom kort; överlämnad till vuxenpsykiatrin och vuxenenheten.",
    "annat": "Samordningen sker i stället i samordnad vårdplanering under slutenvården.",
}

# The cases: (state the case ends in, how it got there, how many). Within each state the first
# two go to HOME_AREA, the third to SECOND_AREA and the rest round the other areas, so the demo
# users see every step in their own unit.
_STORIES: tuple[tuple[str, str, int], ...] = (
    ("upptack", "ny", 7),
    ("forbered", "redo", 1),
    ("forbered", "deltagare", 2),
    ("forbered", "samtycke", 1),
    ("forbered", "ny", 1),
    ("forbered", "redo", 1),
    ("forbered", "installt", 1),
    ("forbered", "nytt_samtycke", 1),
    ("kalla", "forsta", 1),
    ("kalla", "uppfoljning", 1),
    ("kalla", "ombokat", 1),
    ("kalla", "forsta", 3),
    ("kalla", "uppfoljning", 2),
    ("kalla", "ombokat", 1),
    ("mote", "nyss_startat", 1),
    ("mote", "uppfoljning", 1),
    ("mote", "narvaro", 1),
    ("mote", "planutkast", 1),
    ("folj_upp", "version2", 1),
    ("folj_upp", "version1", 2),
    ("folj_upp", "version2", 3),
    ("folj_upp", "version1", 5),
    ("avslutad", "samordning_behovs_inte", 1),
    ("avslutad", "samtycke_aterkallat", 1),
    ("avslutad", "behov_saknas", 2),
    ("avslutad", "samordning_behovs_inte", 1),
    ("avslutad", "familjen_avbojer", 1),
    ("avslutad", "flyttat", 1),
    ("avslutad", "fyller_21", 1),
    ("avslutad", "annat", 1),
)


@dataclass
class DemoSummary:
    """Rows in the database after loading (whether or not this call added them)."""

    organisations: int
    users: int
    cases: int
    created: bool  # False when the demo was already loaded and nothing was added


def load_demo(session: Session, workflow: WorkflowEngine, now: datetime) -> DemoSummary:
    """Load the demo unless it is there already (the demo accounts are the marker)."""
    if now.tzinfo is None:
        raise ValueError("load_demo needs a timezone-aware now")
    loaded = session.scalar(select(User.id).where(User.username.in_(list(DEMO_PASSWORDS))).limit(1))
    if loaded is None:
        _Demo(session, workflow, now).load()
        session.flush()
    return DemoSummary(
        organisations=_count(session, Organisation),
        users=_count(session, User),
        cases=_count(session, Case),
        created=loaded is None,
    )


def _count(session: Session, model: type[Organisation | User | Case]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- Small helpers ----------------------------------------------------------------------------


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", _ascii(text)).strip("-")


def _email(name: str, domain: str) -> str:
    return ".".join(_slug(part) for part in name.split()) + "@" + domain


def _weekday(day: date, step: int) -> date:
    """The day itself, or the nearest weekday in direction ``step`` (+1 or -1)."""
    while day.weekday() >= 5:
        day += timedelta(days=step)
    return day


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _catchment() -> dict[tuple[str, str], str]:
    """(area, kind) -> the name of the verksamhet of that kind serving the area."""
    result: dict[tuple[str, str], str] = {}
    for area, _kommun, place in _AREAS:
        forskola, grundskola = _SCHOOLS[area]
        result[area, "socialtjänst"] = f"Socialtjänst {area}, barn och unga"
        result[area, "förskola"] = forskola
        result[area, "grundskola"] = grundskola
        result[area, "elevhälsa"] = f"Elevhälsan {area}"
        result[area, "vårdcentral"] = f"Närhälsan {place} vårdcentral"
        result[area, "folktandvård"] = f"Folktandvården {place}"
    for kind, units in _SHARED_UNITS.items():
        for unit, served in units.items():
            for area in served:
                result[area, kind] = unit
    return result


_UNIT_OF = _catchment()
_KOMMUN_OF = {area: kommun for area, kommun, _place in _AREAS}
_PLACE_OF = {area: place for area, _kommun, place in _AREAS}


@dataclass(frozen=True)
class _OrgSpec:
    name: str
    kind: str
    party: Party
    huvudman: str
    kommun: str | None
    area: str | None  # set for verksamheter that belong to one NOSAM area


def _organisation_specs() -> list[_OrgSpec]:
    shared = {unit for units in _SHARED_UNITS.values() for unit in units}
    specs: dict[str, _OrgSpec] = {}
    for (area, kind), name in _UNIT_OF.items():
        if name in specs:
            continue
        party = _party_of(kind)
        kommun = _KOMMUN_OF[area]
        huvudman = REGION if party is Party.REGION else _HUVUDMAN[kommun]
        specs[name] = _OrgSpec(
            name, kind, party, huvudman, kommun, None if name in shared else area
        )
    for kind, (name, huvudman) in _OTHER_ACTORS.items():
        specs[name] = _OrgSpec(name, kind, Party.ANNAN, huvudman, None, None)
    return list(specs.values())


# --- Loading ---------------------------------------------------------------------------------


@dataclass
class _ChildSpec:
    first_name: str
    last_name: str
    girl: bool  # decides the ninth digit of the personnummer
    birth: date
    relatives: list[cases.GuardianInput]


@dataclass
class _Demo:
    """Everything the loader shares: the session, a clock in the past, directory and users."""

    session: Session
    workflow: WorkflowEngine
    now: datetime
    rng: random.Random = field(init=False)
    clock: FixedClock = field(init=False)
    engine: WorkflowEngine = field(init=False)
    definition: WorkflowDefinition = field(init=False)
    areas: dict[str, NosamArea] = field(default_factory=dict)
    orgs: dict[str, Organisation] = field(default_factory=dict)
    staff: dict[int, list[Professional]] = field(default_factory=dict)
    coordinators: dict[str, User] = field(default_factory=dict)  # by area
    chef: User | None = None
    used_numbers: set[str] = field(default_factory=set)
    girls: Iterator[str] = field(init=False)
    boys: Iterator[str] = field(init=False)
    surnames: Iterator[str] = field(init=False)
    case_no: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(SEED)  # noqa: S311 - demo content, not security
        # The history is written as it happened: this clock is moved along each case's story.
        self.clock = FixedClock(self.now)
        self.engine = WorkflowEngine(self.workflow.registry, self.clock, self.workflow.notifier)
        self.definition = self.workflow.registry.latest("sip")
        # Children's names are dealt from shuffled decks, so names rarely repeat.
        self.girls, self.boys, self.surnames = (
            cycle(self.rng.sample(names, len(names))) for names in (_GIRLS, _BOYS, _SURNAMES)
        )

    @property
    def today(self) -> date:
        return local_date(self.now)

    # Directory: areas, organisations, staff, users.

    def load(self) -> None:
        self._areas()
        self._organisations()
        self._staff()
        self._users()
        for area, state, story in self._case_plan():
            _CaseRun(self, area).play(state, story)
        self._placements()

    def _areas(self) -> None:
        existing = {a.name: a for a in self.session.scalars(select(NosamArea))}
        for name, kommun, _place in _AREAS:
            area = existing.get(name) or NosamArea(name=name, kommun=kommun)
            self.session.add(area)
            self.areas[name] = area
        self.session.flush()

    def _organisations(self) -> None:
        existing = {o.name: o for o in self.session.scalars(select(Organisation))}
        for spec in _organisation_specs():
            org = existing.get(spec.name)
            if org is None:
                domain = _MAIL_DOMAIN[spec.huvudman]
                org = Organisation(
                    name=spec.name,
                    party=spec.party,
                    kind=spec.kind,
                    huvudman=spec.huvudman,
                    kommun=spec.kommun,
                    nosam_area_id=self.areas[spec.area].id if spec.area else None,
                    email=f"{_slug(spec.name)}@{domain}",
                )
                self.session.add(org)
            self.orgs[spec.name] = org
        self.session.flush()

    def _person_name(self) -> str:
        first = self.rng.choice(self.rng.choice((_WOMEN, _MEN)))
        return f"{first} {self.rng.choice(_SURNAMES)}"

    def _staff(self) -> None:
        phones = cycle(range(100))  # PTS's series for fiction: 031-390 06 00 to 06 99
        for org in self.orgs.values():
            people = []
            for title in _TITLES[org.kind]:
                name = self._person_name()
                people.append(
                    Professional(
                        name=name,
                        organisation_id=org.id,
                        title=title,
                        email=_email(name, _MAIL_DOMAIN[org.huvudman]),
                        phone=f"031-390 06 {next(phones):02d}",
                    )
                )
            self.session.add_all(people)
            self.staff[org.id] = people
        self.session.flush()

    def professional(self, kind: str, area: str, rng: random.Random | None = None) -> Professional:
        """Someone at the area's verksamhet of ``kind``: the first one, or one drawn by ``rng``."""
        people = self.staff[self.orgs[self.unit_name(area, kind)].id]
        return rng.choice(people) if rng else people[0]

    def unit_name(self, area: str, kind: str) -> str:
        if kind in _OTHER_ACTORS:
            return _OTHER_ACTORS[kind][0]
        return _UNIT_OF[area, kind]

    def _users(self) -> None:
        def user(
            username: str, role: Role, area: str, pro: Professional | None, password_hash: str
        ) -> User:
            unit = self.orgs[self.unit_name(area, "socialtjänst")]
            created = User(
                username=username,
                display_name=pro.name if pro else self._person_name(),
                password_hash=password_hash,
                role=role,
                organisation_id=pro.organisation_id if pro else unit.id,
                professional_id=pro.id if pro else None,
            )
            self.session.add(created)
            return created

        # Each unit's first socialsekreterare coordinates its cases; the demo's two have
        # accounts with known passwords.
        lead = {area: self.professional("socialtjänst", area) for area in self.areas}
        pw = DEMO_PASSWORDS
        self.coordinators[HOME_AREA] = user(
            "samordnare",
            Role.SAMORDNARE,
            HOME_AREA,
            lead[HOME_AREA],
            hash_password(pw["samordnare"]),
        )
        self.coordinators[SECOND_AREA] = user(
            "samordnare2",
            Role.SAMORDNARE,
            SECOND_AREA,
            lead[SECOND_AREA],
            hash_password(pw["samordnare2"]),
        )
        self.chef = user("chef", Role.CHEF, HOME_AREA, None, hash_password(pw["chef"]))
        user(
            "deltagare",
            Role.DELTAGARE,
            HOME_AREA,
            self.professional("BUP", HOME_AREA),
            hash_password(pw["deltagare"]),
        )
        user("admin", Role.ADMIN, HOME_AREA, None, hash_password(pw["admin"]))
        # Colleagues in the other units get real accounts so their cases have a coordinator,
        # but nobody knows the password (an admin sets one). One hash: argon2 is slow on purpose.
        unknown = hash_password(secrets.token_urlsafe(32))
        for area in self.areas:
            if area not in self.coordinators:
                username = f"samordnare.{_slug(area)}"
                self.coordinators[area] = user(username, Role.SAMORDNARE, area, lead[area], unknown)
        self.session.flush()

    # Placements: a few in each demo coordinator's unit, some with overdue examinations, so
    # "Placerade barn" has something to show.

    def _placements(self) -> None:
        registry = self.workflow.registry
        notifier = self.workflow.notifier
        # (area, form, basis, days since the start, what has happened to the two parts)
        plan: tuple[tuple[str, PlacementForm, PlacementBasis, int, str], ...] = (
            (HOME_AREA, PlacementForm.FAMILJEHEM, PlacementBasis.LVU, 40, "nothing"),
            (HOME_AREA, PlacementForm.JOURHEM, PlacementBasis.SOL, 25, "one_done"),
            (HOME_AREA, PlacementForm.HVB, PlacementBasis.SOL, 70, "both_done"),
            (HOME_AREA, PlacementForm.FAMILJEHEM, PlacementBasis.SOL, -14, "planned"),
            (SECOND_AREA, PlacementForm.HVB, PlacementBasis.LVU, 10, "oral_not_needed"),
            (SECOND_AREA, PlacementForm.SIS, PlacementBasis.LVU, 35, "nothing"),
        )
        used: set[int] = set()
        for area, form, basis, days_ago, story in plan:
            unit = self.orgs[self.unit_name(area, "socialtjänst")]
            start = self.today - timedelta(days=days_ago)
            registered = min(self.now, stockholm(start.year, start.month, start.day, 10, 0))
            if days_ago < 0:
                registered = self.now - timedelta(hours=2)
            # A case whose story had ended by then, so its history stays in time order.
            last_event = (
                select(func.max(CaseEvent.at)).where(CaseEvent.case_id == Case.id).scalar_subquery()
            )
            case = self.session.scalars(
                select(Case)
                .where(
                    Case.unit_id == unit.id,
                    Case.closed_at.is_(None),
                    Case.child_id.not_in(used or {0}),
                    last_event <= registered,
                )
                .order_by(Case.id)
                .limit(1)
            ).first()
            if case is not None:
                child_id = case.child_id
            else:
                # No case old enough: a child placed without one (the placement opens it).
                female = self.rng.random() < 0.5
                birth = _years_before(self.today, self.rng.randrange(6, 17)) - timedelta(
                    days=self.rng.randrange(0, 365)
                )
                last_name = next(self.surnames)
                guardian = f"{self.rng.choice(_WOMEN)} {last_name}"
                child_id = cases.register_child(
                    self.session,
                    first_name=next(self.girls if female else self.boys),
                    last_name=last_name,
                    relatives=[cases.GuardianInput(guardian, _email(guardian, "mail.example"))],
                    identity_number=self.identity_number(
                        self.rng, birth, female=female, coordination=False
                    ),
                    today=self.today,
                ).id
            used.add(child_id)
            actor = Actor.for_user(self.coordinators[area])
            self.clock.set(registered)
            contacts = []
            for kind in ("vårdcentral", "folktandvård"):
                pro = self.professional(kind, area)
                contacts.append(
                    placements.ExamContactInput(pro.organisation_id, pro.name, pro.email or "")
                )
            placement = placements.register_placement(
                self.session,
                registry,
                notifier,
                actor,
                registered,
                placements.NewPlacement(
                    child_id=child_id,
                    form=form,
                    legal_basis=basis,
                    start_date=start,
                    planned_end=start + timedelta(days=365),
                    placing_kommun="Göteborg",
                    receiving_kommun=self.rng.choice(("Göteborg", "Kungälv", "Lerum", "Alingsås")),
                    receiving_area_id=self.areas[area].id,
                    vardcentral=contacts[0],
                    tandvard=contacts[1],
                ),
            )
            vc, ftv = sorted(placement.health_exams, key=lambda e: e.part.value)

            def step(
                exam: HealthExamRequest,
                trigger: str,
                after_days: int,
                *,
                offered_in_days: int | None = None,
                reason: str | None = None,
                at: datetime = registered,
                actor: Actor = actor,
            ) -> None:
                moment = at + timedelta(days=after_days)
                self.clock.set(moment)
                placements.fire_exam(
                    self.session,
                    registry,
                    notifier,
                    exam,
                    trigger,
                    actor,
                    moment,
                    reason=reason,
                    offered_time=(
                        at + timedelta(days=offered_in_days) if offered_in_days else None
                    ),
                    done_on=local_date(moment),
                    statement_on=local_date(moment),
                )

            # In time order: the history is written as it happened.
            if story == "one_done":
                step(vc, "erbjud_tid", 6, offered_in_days=12)
                step(vc, "genomford", 12)
            if story == "both_done":
                step(vc, "erbjud_tid", 6, offered_in_days=12)
                step(ftv, "erbjud_tid", 9, offered_in_days=20)
                step(vc, "genomford", 12)
                step(ftv, "genomford", 20)
                step(vc, "utlatande", 30)
                step(ftv, "utlatande", 34)
            if story == "oral_not_needed":
                step(
                    ftv,
                    "obehovlig",
                    1,
                    reason="Munhälsan undersöktes i förra placeringen för fem månader sedan.",
                )
        self.clock.set(self.now)
        self.session.flush()

    def _case_plan(self) -> Iterator[tuple[str, str, str]]:
        others = cycle([a for a, _k, _p in _AREAS if a not in (HOME_AREA, SECOND_AREA)])
        index_in_state: dict[str, int] = {}
        for state, story, count in _STORIES:
            for _ in range(count):
                n = index_in_state.get(state, 0)
                index_in_state[state] = n + 1
                area = HOME_AREA if n < 2 else SECOND_AREA if n == 2 else next(others)
                yield area, state, story

    # Time: working hours in Stockholm, never later than now.

    def start_case(self, at: datetime) -> None:
        self.clock.set(min(at, self.now))

    def go(self, at: datetime) -> datetime:
        """Move the clock forward to ``at`` (never back, never past now); the time used."""
        moved = min(max(at, self.clock.now()), self.now)
        self.clock.set(moved)
        return moved

    def identity_number(
        self, rng: random.Random, birth: date, *, female: bool, coordination: bool
    ) -> str:
        while True:
            serial = rng.randrange(1, 999)
            if serial % 2 != (0 if female else 1):  # the ninth digit is even for women
                continue
            number = make_identity_number(birth, serial, coordination=coordination)
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number


class _CaseRun:
    """One case taken through its story with the real services, like a coordinator would."""

    def __init__(self, demo: _Demo, area: str) -> None:
        self.d, self.area, self.s = demo, area, demo.session
        demo.case_no += 1
        self.no = demo.case_no
        # A generator per case, so that one case's draws (some depend on the date the demo is
        # loaded) never change the next case's child or story.
        self.rng = random.Random(SEED * 1000 + self.no)  # noqa: S311 - demo content
        self.actor = Actor.for_user(demo.coordinators[area])
        self.case: Case
        self.child: Child
        self.people: list[Participant] = []
        self.leader: Participant | None = None
        self.recorder: Participant | None = None
        self.lead: Participant | None = None
        self.age = self._age()
        self.turns_21_in: int | None = None  # days, for a young person about to leave SIP
        self.reasons: list[str] = []
        self.kinds: list[str] = []  # verksamheter involved besides the socialtjänst unit

    # Stories: one per (state, how it got there). Times count back from now.

    def play(self, state: str, story: str) -> None:
        r = self.rng
        if story == "fyller_21":
            self.age, self.turns_21_in = 20, r.randint(20, 60)
        if state == "upptack":
            self.open(self.days_ago(r.choice((0, 1, 1, 2, 4, 6, 11))))
        elif state == "forbered":
            self._forbered(story)
        elif state == "kalla":
            self._kalla(story)
        elif state == "mote":
            self._mote(story)
        elif state == "folj_upp":
            self._folj_upp(story)
        else:
            self._avslutad(story)
        assert self.case.state == state, (self.case.state, state, story)

    def _forbered(self, story: str) -> None:
        r = self.rng
        if story == "installt":  # called, then the meeting was cancelled: back to förbered
            self.until_called(self.days_ago(r.randint(8, 14)), self.meeting_time(r.randint(3, 10)))
            self.fire(
                self.days_ago(r.randint(0, 2)), "stall_in", "Vårdnadshavare sjuk; ny tid bokas."
            )
            return
        if story == "nytt_samtycke":  # consent revoked after the plan: a new one is sought
            meeting = self.meeting_time(-r.randint(30, 80))
            self.through_meeting(meeting, local_date(meeting) + timedelta(days=90))
            revoked = self.revoke(self.days_ago(r.randint(3, 10)))
            self.fire(self.after(revoked, 1), "sok_nytt_samtycke", "Nytt samtycke söks.")
            return
        opened = self.days_ago(r.randint(3, 20))
        self.open(opened)
        self.fire(self.after(opened, 1), "forbered")
        if story == "ny":
            return
        self.add_people(self.after(opened, 2))
        if story == "deltagare":
            return
        self.give_consent(self.after(opened, 3))
        self.record_voice(self.after(opened, 4))
        if story == "redo":
            self.plan_meeting(self.days_ago(r.randint(0, 1)), self.meeting_time(r.randint(10, 25)))

    def _kalla(self, story: str) -> None:
        r = self.rng
        if story == "uppfoljning":  # the plan is in force; the follow-up meeting is called
            start = self.meeting_time(r.randint(3, 20))
            first = self.meeting_time(self.offset(start) - r.randint(90, 120))
            self.through_meeting(first, local_date(start))
            self.call_follow_up(self.days_ago(r.randint(1, 10)), start)
            return
        called = self.days_ago(r.randint(3, 12) if story == "ombokat" else r.randint(1, 10))
        self.until_called(called, self.meeting_time(r.randint(2, 25)))
        if story == "ombokat":
            at = self.days_ago(r.randint(1, 2))
            # Moved in the meeting form: the change itself sends everyone the update.
            self.plan_meeting(at, self.meeting_time(r.randint(8, 20)))

    def _mote(self, story: str) -> None:
        r = self.rng
        minutes = {"nyss_startat": 0, "uppfoljning": 15, "narvaro": 15, "planutkast": 30}[story]
        start = self.meeting_started(minutes)
        called = self.before(start, r.randint(14, 21))
        if story == "uppfoljning":
            first = self.meeting_time(-r.randint(90, 120))
            self.through_meeting(first, local_date(start))
            self.call_follow_up(called, start)
        else:
            self.until_called(called, start)
        self.fire(start, "hall_mote")
        if story != "nyss_startat":
            self.record_attendance(start + timedelta(minutes=5))
        if story == "planutkast":
            self.draft_plan(start + timedelta(minutes=25), self._follow_up(start), version=1)

    def _folj_upp(self, story: str) -> None:
        r = self.rng
        if story == "version1":
            start = self.meeting_time(-r.randint(7, 110))
            follow_up = local_date(start) + timedelta(days=r.randint(60, 150))
            if follow_up <= self.d.today + timedelta(days=2):
                follow_up = self.d.today + timedelta(days=r.randint(3, 30))
            self.through_meeting(start, follow_up)
            return
        second = self.meeting_time(-r.randint(5, 60))
        self.follow_up_loop(second)

    def _avslutad(self, story: str) -> None:
        r = self.rng
        if story == "behov_saknas":  # declined in step 1
            opened = self.days_ago(r.randint(15, 120))
            self.open(opened)
            self.close(self.after(opened, r.randint(1, 3)), story)
        elif story == "familjen_avbojer":
            opened = self.days_ago(r.randint(20, 90))
            self.open(opened)
            self.fire(self.after(opened, 1), "forbered")
            self.add_people(self.after(opened, 3))
            self.close(self.after(opened, r.randint(6, 10)), story)
        elif story in ("samtycke_aterkallat", "annat"):  # closed while the meeting was called
            called = self.days_ago(r.randint(20, 40))
            self.until_called(called, self.meeting_time(self.offset(called) + 18))
            closing = self.after(called, r.randint(3, 7))
            if story == "samtycke_aterkallat":
                closing = self.revoke(closing)
            self.close(closing + timedelta(hours=1), story)
        elif story == "samordning_behovs_inte":  # after two follow-ups
            closed = self.days_ago(r.randint(3, 30))
            second = self.meeting_time(self.offset(closed) - r.randint(90, 100))
            self.follow_up_loop(second, next_follow_up=local_date(closed))
            self.close(closed, story, by_chef=self.area == HOME_AREA)
        else:  # flyttat, fyller_21: closed between meetings
            start = self.meeting_time(-r.randint(60, 120))
            self.through_meeting(start, local_date(start) + timedelta(days=r.randint(90, 120)))
            self.close(self.days_ago(r.randint(2, 30)), story)

    # Times: working hours in Stockholm, counted from the day the demo is loaded.

    def work_time(self, day: date, step: int = -1) -> datetime:
        """A time in office hours on ``day``, or on the nearest weekday in direction ``step``."""
        day = _weekday(day, step)
        hour = self.rng.choice((8, 9, 10, 11, 13, 14, 15))
        return stockholm(day.year, day.month, day.day, hour, self.rng.choice((0, 15, 30, 45)))

    def days_ago(self, days: int) -> datetime:
        return self.work_time(self.d.today - timedelta(days=days))

    def before(self, at: datetime, days: int) -> datetime:
        return self.work_time(local_date(at) - timedelta(days=days))

    def after(self, at: datetime, days: int) -> datetime:
        """Office hours ``days`` later (a weekday), or within the hour and a half when 0."""
        if days == 0:
            return at + timedelta(minutes=self.rng.randint(10, 90))
        return self.work_time(local_date(at) + timedelta(days=days), step=1)

    def meeting_time(self, days_from_today: int) -> datetime:
        """A meeting on a weekday; past meetings move back, future ones forward."""
        day = _weekday(
            self.d.today + timedelta(days=days_from_today), -1 if days_from_today < 0 else 1
        )
        hour = self.rng.choice((9, 10, 13, 14))
        return stockholm(day.year, day.month, day.day, hour, self.rng.choice((0, 30)))

    def offset(self, at: datetime) -> int:
        """Days from the day the demo is loaded to ``at`` (negative in the past)."""
        return (local_date(at) - self.d.today).days

    def meeting_started(self, minutes_ago: int) -> datetime:
        """A meeting that started on the quarter-hour, ``minutes_ago`` before now at most."""
        floor = self.d.now.replace(second=0, microsecond=0)
        floor -= timedelta(minutes=floor.minute % 15)
        return floor - timedelta(minutes=minutes_ago)

    # Building blocks of the stories.

    def until_called(self, called: datetime, start: datetime) -> None:
        """Steps 1–3: the case is opened, prepared and the meeting at ``start`` called."""
        opened = self.before(called, self.rng.randint(7, 20))
        self.open(opened)
        prepared = self.after(opened, self.rng.randint(1, 2))
        self.fire(prepared, "forbered")
        self.add_people(self.after(prepared, self.rng.randint(0, 1)))
        self.give_consent(self.after(prepared, self.rng.randint(1, 2)))
        self.record_voice(self.after(prepared, 3))
        self.plan_meeting(called - timedelta(minutes=30), start)
        self.fire(called, "kalla")

    def through_meeting(self, start: datetime, follow_up: date) -> None:
        """Steps 1–5: called two or three weeks ahead, held at ``start``, plan 1 adopted."""
        self.until_called(self.before(start, self.rng.randint(14, 21)), start)
        self.hold_meeting(start, follow_up, version=1)

    def follow_up_loop(self, second: datetime, next_follow_up: date | None = None) -> None:
        """A first meeting, then a follow-up meeting at ``second`` that adopts plan version 2."""
        first = self.meeting_time(self.offset(second) - 100)
        self.through_meeting(first, local_date(second))
        self.call_follow_up(self.before(second, self.rng.randint(14, 21)), second)
        self.hold_meeting(second, next_follow_up or self._follow_up(second), version=2)

    def hold_meeting(self, start: datetime, follow_up: date, *, version: int) -> None:
        self.fire(start, "hall_mote")
        self.record_attendance(start + timedelta(minutes=5))
        self.draft_plan(start + timedelta(minutes=50), follow_up, version=version)
        self.fire(start + timedelta(minutes=85), "anta_plan")

    def _follow_up(self, meeting: datetime) -> date:
        return local_date(meeting) + timedelta(days=self.rng.choice((90, 100, 120)))

    # One service call each; ``at`` moves the demo clock first.

    def fire(
        self,
        at: datetime,
        trigger: str,
        reason: str | None = None,
        *,
        code: str | None = None,
        actor: Actor | None = None,
    ) -> None:
        self.d.go(at)
        self.d.engine.fire(
            self.s, self.case, trigger, actor or self.actor, reason=reason, reason_code=code
        )

    def close(self, at: datetime, code: str, *, by_chef: bool = False) -> None:
        trigger = "avboj" if self.case.state == "upptack" else "avsluta"
        chef = self.d.chef
        actor = Actor.for_user(chef) if by_chef and chef is not None else None
        self.fire(at, trigger, _CLOSE_NOTES[code], code=code, actor=actor)

    def open(self, at: datetime) -> None:
        d, r = self.d, self.rng
        d.start_case(at)
        now = d.clock.now()
        today = local_date(now)
        self.reasons = self._reasons()
        self.kinds = self._kinds()
        self.child = self._register_child(today)
        raised_by, raiser = self._raiser()
        self.case = cases.open_case(
            self.s,
            d.definition,
            self.actor,
            now,
            cases.NewCase(
                child_id=self.child.id,
                nosam_area_id=d.areas[self.area].id,
                unit_id=d.orgs[d.unit_name(self.area, "socialtjänst")].id,
                need_description=_TEXTS[self.reasons[0]].need,
                raised_by=raised_by,
                raised_on=today - timedelta(days=r.choice((0, 0, 1, 2))),
                reasons=list(self.reasons),
                raised_by_organisation_id=raiser.organisation_id if raiser else None,
                raised_by_name=raiser.name if raiser else self._family_name(),
                involved_organisation_ids=[self._org_id(k) for k in self.kinds],
            ),
        )

    def add_people(self, at: datetime) -> None:
        d = self.d
        now = d.go(at)
        lead_kind = self._lead_kind()
        for kind in ["socialtjänst", *self.kinds]:
            # The coordinator's own professional sits for the unit; BUP Angered is always
            # represented by the deltagare account's psychologist.
            first = kind == "socialtjänst" or (kind == "BUP" and self.area == HOME_AREA)
            pro = d.professional(kind, self.area, None if first else self.rng)
            roles = self._roles(kind)
            person = participants.add_participant(
                self.s,
                self.case,
                self.actor,
                now,
                professional_id=pro.id,
                roles=roles,
                workflow=self.d.engine,
            )
            self.people.append(person)
            if FunctionRole.MOTESLEDARE.value in roles:
                self.leader = person
            if FunctionRole.DOKUMENTANSVARIG.value in roles:
                self.recorder = person
            if kind == lead_kind:
                self.lead = person  # the plan names them samordningsansvarig
        family = self.child.guardians or self.child.relatives[:1]
        for relative in family:
            self.people.append(
                participants.add_participant(
                    self.s,
                    self.case,
                    self.actor,
                    now,
                    relative_id=relative.id,
                    workflow=self.d.engine,
                )
            )

    def give_consent(self, at: datetime) -> None:
        now = self.d.go(at)
        day = local_date(now)
        age = self.child.age_on(day)
        texts = _TEXTS[self.reasons[0]]
        consent.record_consent(
            self.s,
            self.case,
            self.actor,
            now,
            consent.ConsentInput(
                form=self.rng.choice(
                    (ConsentForm.SKRIFTLIG, ConsentForm.SKRIFTLIG, ConsentForm.MUNTLIG)
                ),
                organisation_ids=sorted(
                    {p.organisation_id for p in self.people if p.organisation_id}
                ),
                valid_from=day,
                valid_until=day + timedelta(days=365),
                information_categories=list(texts.categories),
                # Guardians consent for a minor; an older teenager signs too, so the consent
                # still holds if they turn 18 during the SIP.
                given_by_relative_ids=[g.id for g in self.child.guardians] if age < 18 else [],
                given_by_young_person=age >= 15,
                child_view=None if age < 4 else "Vill att de som hjälper pratar med varandra.",
                exclusions=self.rng.choice(
                    (None, None, None, "Uppgifter om förälderns hälsa delas inte med skolan.")
                ),
            ),
        )

    def record_voice(self, at: datetime) -> None:
        now = self.d.go(at)
        age = self.child.age_on(local_date(now))
        voice = next((self.rng.choice(v) for top, v in _CHILD_VOICES if age <= top), None)
        cases.record_child_voice(
            self.s,
            self.case,
            self.actor,
            now,
            voice=None if age < 3 else voice,
            missing_reason=_TOO_YOUNG if age < 3 else None,
        )

    def plan_meeting(self, at: datetime, start: datetime) -> None:
        now = self.d.go(at)
        video = self.rng.random() < 0.3
        # Never meet at the school of a child with skyddade personuppgifter.
        school = next((p for p in self.people if p.party is Party.SKOLA), None)
        place = self.d.unit_name(self.area, "socialtjänst")
        if school and school.organisation and not self.child.protected_identity:
            place = self.rng.choice((place, school.organisation.name))
        meetings.schedule_meeting(
            self.s,
            self.case,
            self.actor,
            now,
            meetings.MeetingInput(
                starts_at=start,
                ends_at=start + timedelta(minutes=90),
                format=MeetingFormat.VIDEO if video else MeetingFormat.PA_PLATS,
                location=None if video else f"{place}, mötesrum {self.rng.randint(1, 4)}",
                video_link=f"https://video.example/sip/{self.rng.getrandbits(48):012x}"
                if video
                else None,
                questions=[
                    _TEXTS[self.reasons[0]].question,
                    "Vem gör vad, och vem håller ihop planen?",
                ],
                leader_participant_id=self.leader.id if self.leader else None,
                recorder_participant_id=self.recorder.id if self.recorder else None,
            ),
            workflow=self.d.engine,
        )

    def call_follow_up(self, at: datetime, start: datetime) -> None:
        self.plan_meeting(at, start)
        self.fire(at + timedelta(minutes=10), "kalla_uppfoljning")

    def record_attendance(self, at: datetime) -> None:
        now = self.d.go(at)
        present = {
            p.id: p is self.leader or self.rng.random() > 0.15
            for p in self.case.active_participants
        }
        meetings.record_attendance(self.s, self.case, self.actor, now, present)

    def draft_plan(self, at: datetime, follow_up: date, *, version: int) -> None:
        now = self.d.go(at)
        r, texts = self.rng, _TEXTS[self.reasons[0]]
        professionals = [p for p in self.case.active_participants if p.organisation is not None]
        teenager = self.child.age_on(local_date(now)) >= 13
        plans.save_plan_draft(
            self.s,
            self.case,
            self.actor,
            now,
            plans.PlanInput(
                guardians_view=r.choice(_GUARDIAN_VIEWS) if self.child.guardians else None,
                needs=list(texts.plan_needs),
                goals=[{"goal": texts.goal, "delmal": list(texts.delmal[min(version, 2) - 1])}],
                other_actions=[dict(a) for a in r.sample(_OTHER_ACTIONS, 2)],
                insatser=[
                    plans.InsatsInput(
                        r.choice(_INSATSER[p.organisation.kind]), p.organisation.id, p.name
                    )
                    for p in professionals
                    if p.organisation is not None
                ],
                lead_organisation_id=self.lead.organisation_id if self.lead else None,
                samordningsansvarig_participant_id=self.lead.id if self.lead else None,
                next_follow_up=follow_up,
                note_hidden_from_guardians=(
                    "Vill inte att vårdnadshavarna får veta innehållet i samtalen."
                    if teenager and "psykisk_ohalsa" in self.reasons
                    else None
                ),
            ),
        )

    def revoke(self, at: datetime) -> datetime:
        now = self.d.go(at)
        given = self.s.scalars(
            select(Consent).where(Consent.case_id == self.case.id, Consent.revoked_at.is_(None))
        ).first()
        assert given is not None
        consent.revoke_consent(
            self.s, self.case, self.actor, now, given, reason="Återkallat muntligt per telefon."
        )
        return now

    # The child and what the case is about.

    def _age(self) -> int:
        return self.rng.choices(range(len(_AGE_WEIGHTS)), weights=_AGE_WEIGHTS)[0]

    def _reasons(self) -> list[str]:
        if self.turns_21_in is not None:
            return ["overgang_vuxen", "psykisk_ohalsa"]
        pool = next(reasons for top, reasons in _REASONS_BY_AGE if self.age <= top)
        first = self.rng.choice(pool)
        second = self.rng.choice(pool)
        return [first] if second == first or self.rng.random() < 0.5 else [first, second]

    def _kinds(self) -> list[str]:
        """The verksamheter involved besides the unit: school, region, other actors."""
        kinds: list[str] = []
        school = self._school_kind()
        if school:
            kinds.append(school)
            if "skolfranvaro" in self.reasons and school != "förskola":
                kinds.append("elevhälsa")
        for reason in self.reasons:
            kinds.extend(k for k in _REGION_KINDS[reason] if k not in kinds)
        if self.area == HOME_AREA and "BUP" not in kinds:
            kinds.append("BUP")
        for reason in self.reasons:
            other = _OTHER_ACTOR_FOR_REASON.get(reason)
            if other is not None and other not in kinds:
                kinds.append(other)
        return kinds

    def _school_kind(self) -> str | None:
        if 1 <= self.age <= 5:
            return "förskola"
        if 6 <= self.age <= 15:
            return "grundskola"
        if 16 <= self.age <= 19:
            return "gymnasium"
        return None

    def _lead_kind(self) -> str:
        wanted = _LEAD_BY_REASON.get(self.reasons[0])
        school = self._school_kind()
        if wanted == "skola" and school:
            return school
        if wanted == "socialtjänst":
            return wanted
        return next((k for k in self.kinds if _party_of(k) is Party.REGION), "socialtjänst")

    def _roles(self, kind: str) -> list[str]:
        roles = [FunctionRole.KONTAKTPERSON.value]
        if kind == "socialtjänst":
            roles = [FunctionRole.SAMMANKALLANDE.value, FunctionRole.MOTESLEDARE.value]
        elif kind == (self._school_kind() or self.kinds[0]):
            roles.append(FunctionRole.DOKUMENTANSVARIG.value)
        return roles

    def _raiser(self) -> tuple[RaisedBy, Professional | None]:
        """Who raised the need: the school, the region, socialtjänst or the family."""
        first = self.reasons[0]
        options: list[tuple[RaisedBy, str | None]] = [(RaisedBy.SOCIALTJANST, "socialtjänst")]
        school = self._school_kind()
        if school and first in ("skolfranvaro", "psykisk_ohalsa", "vald_i_nara_relation"):
            options.append((RaisedBy.SKOLA, school))
        region = _REGION_KINDS[first][0]
        if first in (
            "psykisk_ohalsa",
            "funktionsnedsattning",
            "somatisk_sjukdom",
            "overgang_vuxen",
        ):
            options.append((RaisedBy.REGION, region))
        if first in ("annat", "missbruk", "funktionsnedsattning") and self.child.relatives:
            options.append((RaisedBy.FAMILJ, None))
        raised_by, kind = self.rng.choice(options)
        if kind is None:
            return raised_by, None
        return raised_by, self.d.professional(kind, self.area, self.rng)

    def _family_name(self) -> str | None:
        return self.child.relatives[0].name if self.child.relatives else None

    def _org_id(self, kind: str) -> int:
        return self.d.orgs[self.d.unit_name(self.area, kind)].id

    def _register_child(self, today: date) -> Child:
        spec = self._child_spec(today)
        kommun = _KOMMUN_OF[self.area]
        ort = "Göteborg" if kommun == "Göteborg" else _PLACE_OF[self.area]
        school = self._school_kind()
        return cases.register_child(
            self.s,
            first_name=spec.first_name,
            last_name=spec.last_name,
            identity_number=self.d.identity_number(
                self.rng,
                spec.birth,
                female=spec.girl,
                coordination=self.no in _COORDINATION_NUMBER_CASES,
            ),
            today=today,
            protected_identity=self.no in _PROTECTED_CASES,
            address=(
                f"{self.rng.choice(_STREETS)} {self.rng.randint(1, 60)}, "
                f"{self.rng.choice(_POSTCODE_PREFIX[kommun])} {self.rng.randint(10, 99)} {ort}"
            ),
            school_id=self._org_id(school) if school else None,
            relatives=spec.relatives,
        )

    def _child_spec(self, opened: date) -> _ChildSpec:
        r, d = self.rng, self.d
        girl = r.random() < 0.5
        first = next(d.girls if girl else d.boys)
        last = next(d.surnames)
        # Born within the year that gives this age today, and before the case was opened.
        latest = min(_years_before(d.today, self.age), opened - timedelta(days=30))
        earliest = _years_before(d.today, self.age + 1) + timedelta(days=1)
        birth = earliest + timedelta(days=r.randint(0, max(0, (latest - earliest).days)))
        if self.turns_21_in is not None:
            birth = _years_before(d.today + timedelta(days=self.turns_21_in), 21)
        adult = _years_before(opened, 18) >= birth
        # From 18 there are no vårdnadshavare: parents are närstående.
        kind = RelativeKind.NARSTAENDE if adult else RelativeKind.VARDNADSHAVARE
        parents = (
            [r.choice(_WOMEN), r.choice(_MEN)] if r.random() < 0.65 else [r.choice(_WOMEN + _MEN)]
        )
        relatives = []
        for parent in parents:
            name = f"{parent} {last}"
            phone = f"070-174 06 {r.randint(5, 99):02d}"  # PTS's mobile series for fiction
            relatives.append(
                cases.GuardianInput(name, _email(name, "mail.example"), phone, kind=kind)
            )
        return _ChildSpec(first, last, girl, birth, relatives)
