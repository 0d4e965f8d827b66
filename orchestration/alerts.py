"""Alerts: a failed run is logged as an alert and, when a webhook is configured, posted to it.

The sensor runs in the Dagster daemon (`make dev`, or `dagster-daemon run` in
production) and watches every run of the job, scheduled or started by the CLI.
The webhook receives JSON: {"text", "job", "run_id", "failure", "partition"}, a
shape Slack, Teams and most chat and incident tools accept.
"""

from __future__ import annotations

import json
import urllib.request

import dagster as dg

ALERT_SENSOR_NAME = "nightly_segmentation_failure_alert"
WEBHOOK_TIMEOUT_SECONDS = 10


def step_failure(events) -> str | None:
    """One line for the first failed step: its own message (a Failure's description, or its exception's)."""
    for event in events:
        data = event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            return data.user_failure_data.description
        if data.error:
            error = data.error
            while error.cause:  # Dagster wraps the step's own exception: report that one
                error = error.cause
            return f"step {event.step_key}: {error.message.strip().splitlines()[0]}"
    return None


def post_webhook(url: str, payload: dict) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
        response.read()


def build_failure_alert(job: dg.UnresolvedAssetJobDefinition, webhook_url: str | None) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=ALERT_SENSOR_NAME,
        monitored_jobs=[job],
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Logs an alert for every failed run and posts it to CRMSEG_ALERT_WEBHOOK_URL when set.",
    )
    def failure_alert(context: dg.RunFailureSensorContext) -> None:
        run = context.dagster_run
        failure = step_failure(context.get_step_failure_events()) or context.failure_event.message
        partition = run.tags.get("dagster/partition") or run.tags.get("crmseg/as_of_dates")
        text = f"crmseg: run {run.run_id} of {run.job_name} ({partition or 'no date'}) failed: {failure}"
        context.log.error(f"ALERT {text}")
        if webhook_url:
            payload = {
                "text": text,
                "job": run.job_name,
                "run_id": run.run_id,
                "failure": failure,
                "partition": partition,
            }
            try:
                post_webhook(webhook_url, payload)
            except OSError as exc:  # the alert is logged above either way
                context.log.error(f"ALERT could not be posted to the webhook: {exc}")

    return failure_alert
