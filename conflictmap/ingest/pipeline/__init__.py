"""Store and apply: every write of ingestion happens here, in transactions.

The flow is the same in process (`manage.py ingest`) and in Celery workers (tasks.py):
  1. the bytes as received are stored (ImportRun, Report) before any task is queued (runs, reports);
  2. work is claimed with a conditional update, so two workers never do one job, and a claim
     whose worker died (no heartbeat for INGEST_CLAIM_TIMEOUT seconds) is taken again (claims);
  3. results are written in a transaction that first checks the claim is still ours (progress;
     acled, zones, snapshots and reports apply each kind of source);
  4. sweep() re-queues whatever is left pending, so a lost broker message delays but loses nothing
     (queueing, sweep), and marks failed what ran out of attempts (claims);
  5. the stored bytes of finished runs are deleted after INGEST_KEEP_CONTENT_DAYS (retention).
Feeds are polled in feeds, fetched in fetching (from the addresses that addresses allows); editors
review candidates into events in review.
"""

from .claims import ClaimLost, claim_report, claim_run
from .feeds import claim_feed, due_feeds, poll_feed, poll_soon
from .fetching import Fetched, fetch
from .reports import StoreResult, normalise_url, process_report, report_date, store_report
from .retention import prune_content
from .retry import RETRYABLE, FetchError, FetchRefused
from .review import (
    MERGE_DAYS,
    MERGE_KM,
    ReviewError,
    accept_candidate,
    merge_candidate,
    reject_candidate,
    suggest_events,
)
from .runs import create_run, process_run, report_summary, summary
from .snapshots import bundle_snapshots
from .sweep import sweep

__all__ = [
    "MERGE_DAYS",
    "MERGE_KM",
    "RETRYABLE",
    "ClaimLost",
    "FetchError",
    "FetchRefused",
    "Fetched",
    "ReviewError",
    "StoreResult",
    "accept_candidate",
    "bundle_snapshots",
    "claim_feed",
    "claim_report",
    "claim_run",
    "create_run",
    "due_feeds",
    "fetch",
    "merge_candidate",
    "normalise_url",
    "poll_feed",
    "poll_soon",
    "process_report",
    "process_run",
    "prune_content",
    "reject_candidate",
    "report_date",
    "report_summary",
    "store_report",
    "suggest_events",
    "summary",
    "sweep",
]
