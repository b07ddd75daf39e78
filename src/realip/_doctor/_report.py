"""What doctor says: findings, one entry per object, and the report per input file."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from realip._doctor._catalogue import FINDINGS

# Finding levels.
ERROR = "error"
WARNING = "warning"
INFO = "info"

# What happens to the client IP on the way to the app.
PRESERVED = "preserved"
LOST = "lost"
SPOOFABLE = "spoofable"
UNKNOWN = "unknown"
NOT_APPLICABLE = "n/a"
BAD = (LOST, SPOOFABLE)


def howto(page: str) -> str:
    """A pointer to a page of realip's documentation (a path under docs/)."""
    return f"see docs/{page} in the realip documentation"


@dataclass(frozen=True)
class Finding:
    """One observation about an object: a level, a stable code, a sentence, maybe a fix."""

    level: str
    code: str
    message: str
    fix: Optional[str] = None

    def __post_init__(self) -> None:
        # Every code is documented in the catalogue (and so in the generated reference).
        # Any finding may be quoted at info level as one reading among several (an AWS Service
        # whose controller is not stated shows both controllers' findings that way).
        known = FINDINGS.get(self.code)
        if known is None or (self.level not in known[0] and self.level != INFO):
            raise ValueError(f"finding {self.code!r} at level {self.level!r} is not catalogued")

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready form."""
        out: Dict[str, Any] = {"level": self.level, "code": self.code, "message": self.message}
        if self.fix is not None:
            out["fix"] = self.fix
        return out


@dataclass
class Entry:
    """The verdict on one object (Service, Ingress, Gateway, workload, ConfigMap)."""

    kind: str
    namespace: str
    name: str
    role: str
    summary: str
    topology: Optional[str]
    client_ip: str
    findings: List[Finding] = field(default_factory=list)
    settings: Dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """``Kind namespace/name``."""
        return f"{self.kind} {self.namespace}/{self.name}"

    @property
    def loses_client_ip(self) -> bool:
        """True when the app cannot get the real client address through this object."""
        return self.client_ip in BAD

    def codes(self) -> List[str]:
        """The codes of the findings, in order (handy in tests and scripts)."""
        return [f.code for f in self.findings]

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "role": self.role,
            "summary": self.summary,
            "topology": self.topology,
            "client_ip": self.client_ip,
            "loses_client_ip": self.loses_client_ip,
            "findings": [f.as_dict() for f in self.findings],
            "settings": dict(self.settings),
        }


@dataclass
class Report:
    """Everything ``realip doctor`` found in one input, for people (:meth:`render`) or tools."""

    entries: List[Entry]
    notes: List[str] = field(default_factory=list)
    source: Optional[str] = None

    @property
    def loses_client_ip(self) -> bool:
        """True when at least one object loses (or lets clients forge) the client IP."""
        return any(e.loses_client_ip for e in self.entries)

    @property
    def exit_code(self) -> int:
        """0 when nothing loses the client IP, 1 otherwise."""
        return 1 if self.loses_client_ip else 0

    def find(self, kind: str, namespace: str, name: str) -> Entry:
        """The entry for one object; KeyError if the report has none."""
        for entry in self.entries:
            if (entry.kind, entry.namespace, entry.name) == (kind, namespace, name):
                return entry
        raise KeyError(f"{kind} {namespace}/{name}")

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready form (what ``--json`` prints for one file)."""
        out: Dict[str, Any] = {}
        if self.source is not None:
            out["file"] = self.source
        out.update(
            {
                "loses_client_ip": self.loses_client_ip,
                "exit_code": self.exit_code,
                "entries": [e.as_dict() for e in self.entries],
                "notes": list(self.notes),
            }
        )
        return out

    def render(self) -> str:
        """Readable text (what ``realip doctor`` prints by default)."""
        out: List[str] = []
        wrap = textwrap.TextWrapper(width=100, break_long_words=False, break_on_hyphens=False)
        for entry in self.entries:
            out.append(f"{entry.ref}  ({entry.summary})")
            if entry.topology is not None and entry.role == "ingress-controller":
                out.append(
                    f"  arrives:   {entry.topology} (what reaches the ingress controller; "
                    "realip runs behind it)"
                )
            elif entry.topology is not None:
                out.append(f"  topology:  {entry.topology}")
            verdict = entry.client_ip.upper() if entry.loses_client_ip else entry.client_ip
            out.append(f"  client IP: {verdict}")
            for finding in entry.findings:
                wrap.initial_indent = f"  {finding.level.upper():<8}"
                wrap.subsequent_indent = " " * 10
                out.append(wrap.fill(finding.message))
                if finding.fix:
                    wrap.initial_indent = " " * 10 + "fix: "
                    wrap.subsequent_indent = " " * 15
                    out.append(wrap.fill(finding.fix))
            if entry.settings:
                env = " ".join(f"{k}={v}" for k, v in entry.settings.items())
                out.append(f"  settings:  {env}")
            out.append("")
        for note in self.notes:
            wrap.initial_indent = "note: "
            wrap.subsequent_indent = "      "
            out.append(wrap.fill(note))
        if self.notes:
            out.append("")
        if not self.entries:
            out.append("Nothing in this input for doctor to judge.")
        else:
            out.append(
                _conclusion(
                    [e.ref for e in self.entries if e.loses_client_ip],
                    [e.ref for e in self.entries if e.client_ip == UNKNOWN],
                    lost="The client IP is lost or forgeable at: {}.",
                    unsure="Nothing here loses the client IP for certain, but doctor cannot "
                    "tell for: {} (see the warnings).",
                    survives="The client IP survives every path in this input.",
                )
            )
        return "\n".join(out) + "\n"


@dataclass
class MultiReport:
    """Reports on several input files, kept apart; the exit code is the worst of them."""

    reports: Sequence[Report]

    @property
    def exit_code(self) -> int:
        """The worst exit code of the files (a lost client IP in any file wins)."""
        return max((r.exit_code for r in self.reports), default=0)

    @property
    def loses_client_ip(self) -> bool:
        """True when any file loses (or lets clients forge) the client IP."""
        return any(r.loses_client_ip for r in self.reports)

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready form: one report per file."""
        return {
            "loses_client_ip": self.loses_client_ip,
            "exit_code": self.exit_code,
            "files": [r.as_dict() for r in self.reports],
        }

    def render(self) -> str:
        """Readable text: a heading and a report per file, then the overall verdict."""
        out: List[str] = []
        for report in self.reports:
            title = f"== {report.source} =="
            out.append(title)
            out.append("")
            out.append(report.render())
        out.append(
            _conclusion(
                [r.source or "?" for r in self.reports if r.loses_client_ip],
                [
                    r.source or "?"
                    for r in self.reports
                    if any(e.client_ip == UNKNOWN for e in r.entries)
                ],
                lost="Overall: the client IP is lost or forgeable in {}.",
                unsure="Overall: no file loses the client IP for certain; doctor can't tell for "
                "some objects in {}.",
                survives="Overall: no file loses the client IP.",
            )
        )
        return "\n".join(out) + "\n"


def _conclusion(
    bad: Sequence[str], unknown: Sequence[str], lost: str, unsure: str, survives: str
) -> str:
    """The closing sentence, worst first: where the client IP is lost, else unknown, else fine."""
    if bad:
        return lost.format(", ".join(bad))
    if unknown:
        return unsure.format(", ".join(unknown))
    return survives
