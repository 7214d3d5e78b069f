"""Reading a component's /metrics as Prometheus would: fetch, parse with
prometheus_client's text parser, and look series up by name and labels."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Scrape:
    """Every sample of one scrape: (name, labels) -> value."""

    samples: list[tuple[str, dict[str, str], float]]

    def value(self, metric: str, /, **labels: str) -> float:
        """The sum of `metric`'s samples whose labels include `labels` (0 if none)."""
        return sum(
            value
            for sample, sample_labels, value in self.samples
            if sample == metric and all(sample_labels.get(k) == v for k, v in labels.items())
        )

    def has(self, metric: str) -> bool:
        return any(sample == metric for sample, _, _ in self.samples)


def parse(text: str) -> Scrape:
    return Scrape(
        [
            (s.name, dict(s.labels), s.value)
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]
    )


def scrape(url: str, token: str | None = None, verify: object = True) -> Scrape:
    """GET `url` (a /metrics endpoint) and parse it; raises on any answer but 200."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.get(url, headers=headers, verify=verify, timeout=10)  # type: ignore[arg-type]
    r.raise_for_status()
    assert r.headers["content-type"].startswith("text/plain"), r.headers
    return parse(r.text)
