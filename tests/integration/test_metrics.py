"""Every service exposes Prometheus metrics that move with the traffic.

The three services run in this one test process and share the default registry, so the test
compares values before and after its own traffic rather than absolute counts.
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.support import Pipeline, eventually

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(pipeline: Pipeline, url: str) -> Samples:
    answer = await pipeline.http.get(f"{url}/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_follow_a_detractor_through_every_stage(pipeline: Pipeline) -> None:
    before = await scrape(pipeline, pipeline.ingest_url)
    router_before = await scrape(pipeline, pipeline.router_url)
    notifier_before = await scrape(pipeline, pipeline.notifier_url)

    assert (await pipeline.post(pipeline.sample(nps=1))).status_code == 202
    forged = await pipeline.http.post(f"{pipeline.ingest_url}/webhooks/survey", json={})
    assert forged.status_code == 401
    await eventually(lambda: pipeline.pool.fetchval("SELECT alerted_at FROM recovery_cases"))

    async def notifier_saw_it() -> Samples | None:
        now = await scrape(pipeline, pipeline.notifier_url)
        count = "winback_notifier_alert_age_seconds_count"
        return now if value(now, count) > value(notifier_before, count) else None

    notifier_after = await eventually(notifier_saw_it)
    after = await scrape(pipeline, pipeline.ingest_url)
    router_after = await scrape(pipeline, pipeline.router_url)

    def grew(old: Samples, new: Samples, name: str, **labels: str) -> float:
        return value(new, name, **labels) - value(old, name, **labels)

    delivered = "winback_ingest_deliveries_total"
    assert grew(before, after, delivered, source="survey", outcome="202") == 1
    assert grew(before, after, delivered, source="survey", outcome="401") == 1
    assert grew(before, after, "winback_ingest_answer_seconds_count") == 2
    assert grew(router_before, router_after, "winback_router_records_total", outcome="stored") == 1
    assert grew(router_before, router_after, "winback_router_case_alerts_total", kind="opened") == 1
    for stage in ("stored", "alerted"):
        count = "winback_router_response_age_seconds_count"
        assert grew(router_before, router_after, count, stage=stage) == 1
    assert notifier_after is not None
    assert (
        grew(notifier_before, notifier_after, "winback_notifier_frames_total", type="case.opened")
        == 1
    )
    lag = [k for k in router_after if k[0] == "winback_router_consumer_lag"]
    assert lag and all(router_after[k] >= 0 for k in lag)
