"""What the consumer apps share: where each consumer's record goes, read back by the harness.

``CONSUMER_OUT`` names a folder; each consumer writes JSON lines to its own file there, from
inside the server process: the spans (``spans.jsonl``, by a span exporter), the Sentry events
(``sentry.jsonl``, by a transport: nothing leaves the machine), the log lines
(``structlog.jsonl``, ``loguru.jsonl``). Rate limiters' counters travel back in the response.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Dict, Sequence

OUT = Path(os.environ.get("CONSUMER_OUT", "."))
_LOCK = threading.Lock()


def write(channel: str, record: Dict[str, Any]) -> None:
    """Append one JSON line to the channel's file."""
    line = json.dumps(record, default=str) + "\n"
    with _LOCK, open(OUT / f"{channel}.jsonl", "a") as f:
        f.write(line)


def counts(items: Dict[str, Any]) -> Dict[str, int]:
    """A limiter's counters as plain JSON."""
    return {str(key): int(value) for key, value in items.items()}


def setup_tracing() -> None:
    """A tracer provider that writes every finished span to ``spans.jsonl``."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class FileSpanExporter(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            for span in spans:
                write(
                    "spans",
                    {
                        "name": span.name,
                        "kind": str(span.kind),
                        "attributes": dict(span.attributes or {}),
                    },
                )
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter()))
    trace.set_tracer_provider(provider)


def setup_sentry(*integrations: Any) -> None:
    """sentry-sdk with a transport that writes each event to ``sentry.jsonl``."""
    import sentry_sdk
    from sentry_sdk.transport import Transport

    class FileTransport(Transport):
        def capture_envelope(self, envelope: Any) -> None:
            for item in envelope.items:
                event = item.get_event()
                if event is not None:
                    write("sentry", event)

    # What makes Sentry record user.ip_address: sentry-sdk 2 asks for send_default_pii, 3 does it
    # by default (data_collection={"user_info": True}).
    pii = {"send_default_pii": True} if sentry_sdk.VERSION.startswith("2.") else {}
    sentry_sdk.init(
        dsn="https://public@sentry.invalid/1",  # never contacted: the transport writes a file
        transport=FileTransport,
        integrations=list(integrations),
        default_integrations=False,
        **pii,
    )


def setup_structlog() -> Any:
    """structlog as logging.md wires it, rendering JSON lines into ``structlog.jsonl``."""
    import structlog

    import realip.log
    from realip.log import current_client_ip

    realip.log.enable()  # as logging.md: the middlewares record the client from now on

    def add_client_ip(logger: Any, method_name: str, event_dict: Any) -> Any:
        event_dict.setdefault("client_ip", current_client_ip())
        return event_dict

    structlog.configure(
        processors=[add_client_ip, structlog.processors.JSONRenderer()],
        logger_factory=structlog.WriteLoggerFactory(file=open(OUT / "structlog.jsonl", "a")),  # noqa: SIM115
        cache_logger_on_first_use=True,
    )
    return structlog.get_logger()


def setup_loguru() -> Any:
    """loguru as logging.md wires it (a patcher), one JSON object per line in ``loguru.jsonl``."""
    from loguru import logger

    import realip.log
    from realip.log import current_client_ip

    realip.log.enable()  # as logging.md: the middlewares record the client from now on
    logger.remove()
    logger.configure(
        patcher=lambda record: record["extra"].update(client_ip=current_client_ip() or "-")
    )
    logger.add(
        str(OUT / "loguru.jsonl"),
        format='{{"message": "{message}", "client_ip": "{extra[client_ip]}"}}',
        enqueue=False,
    )
    return logger


class Loggers:
    """Every installed logger of the two, each logging the request's path."""

    def __init__(self) -> None:
        import importlib.util

        self.targets = []
        if importlib.util.find_spec("structlog"):
            self.targets.append(setup_structlog().info)
        if importlib.util.find_spec("loguru"):
            self.targets.append(setup_loguru().info)

    def hit(self, path: str) -> None:
        for log in self.targets:
            log(path)
