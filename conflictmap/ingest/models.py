"""Feeds, import runs, reports as received, and the candidates extraction proposes."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q


class Feed(models.Model):
    """An RSS/Atom feed polled on its own interval, honouring ETag and Last-Modified."""

    name = models.CharField(max_length=200)
    url = models.URLField(max_length=2000, unique=True)
    language = models.CharField(max_length=12, blank=True)
    active = models.BooleanField(default=True)
    interval_minutes = models.PositiveIntegerField(default=60)
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(
        default=0, help_text="Polls started since the last one that succeeded."
    )
    failed_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When polling gave up (INGEST_MAX_ATTEMPTS polls in a row failed; the last "
        "error says why). \"Poll now\" or a new URL starts again.",
    )  # fmt: skip

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportRunManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        # The bytes as received can be tens of megabytes: a list of runs, a status or a claim
        # never loads them; `run.content` does, when it is asked for.
        return super().get_queryset().defer("content")


class ImportRun(models.Model):
    """One uploaded file or fetched source, with what became of each of its rows."""

    class Kind(models.TextChoices):
        ACLED = "acled", "ACLED CSV"
        FEED = "feed", "RSS/Atom feed"
        REPORT = "report", "Plain report"
        ZONES = "zones", "Control map"
        SNAPSHOTS = "snapshots", "Whole-map snapshots"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.PENDING, db_index=True
    )
    filename = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    content = models.BinaryField(blank=True, help_text="The bytes as received.")
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)
    size = models.PositiveBigIntegerField(
        default=0, help_text="How many bytes were received (kept when they are pruned)."
    )
    pruned_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the bytes were deleted, INGEST_KEEP_CONTENT_DAYS after the run ended; "
        "its hash, counts and rejections are kept.",
    )  # fmt: skip
    options = models.JSONField(default=dict, blank=True)
    publish = models.BooleanField(
        default=False,
        help_text="Publish the events and zone versions this run creates (a publisher's choice "
        "at upload, or `ingest --publish`); otherwise they are drafts for review.",
    )
    feed = models.ForeignKey(Feed, null=True, blank=True, on_delete=models.SET_NULL)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker took it (the claim's token)."
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life; a stale run is taken again."
    )
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="Last re-queued by the sweep (empty: when created)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportRunManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} {self.filename or self.url}".strip()

    def reason(self, what: str) -> str:
        """The reason written to the history rows of what this run changes: the one given
        (`ingest --reason`, options["reason"]), else what and which run."""
        return self.options.get("reason") or f"{what} #{self.pk}"

    @property
    def record_status(self) -> str:
        """The status of the events and zone versions this run creates: drafts unless the run
        was told to publish (its `publish`)."""
        from conflictmap.territory.models import Status

        return Status.PUBLISHED if self.publish else Status.DRAFT

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:
        # Reloading a run reloads what it says about itself, not its bytes (ImportRunManager).
        if from_queryset is None:
            from_queryset = type(self).objects.all()
        super().refresh_from_db(using, fields, from_queryset)


class Rejection(models.Model):
    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rejections")
    row = models.CharField(max_length=100, help_text="Row number, feature index or entry id.")
    reason = models.TextField()
    raw = models.TextField(blank=True)
    repaired = models.BooleanField(
        default=False, help_text="Taken in after a safe repair (said in the reason)."
    )

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


class Snapshot(models.Model):
    """A whole-map snapshot applied to the zones by `ingest snapshots`: at most one per date.

    Snapshots are applied in date order: one older than the latest recorded is refused, and the
    same file for a recorded date is recognised by its hash (re-running changes nothing)."""

    date = models.DateField(unique=True)
    filename = models.CharField(max_length=500)
    content_hash = models.CharField(max_length=64)
    run = models.ForeignKey(
        ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="snapshots"
    )
    applied_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"Snapshot of {self.date.isoformat()} ({self.filename})"


class Report(models.Model):
    """A document as received (feed entry, article, pasted text), deduplicated."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending extraction"
        PROCESSING = "processing", "Being processed"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    url = models.URLField(max_length=2000, blank=True)
    content_hash = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=1000, blank=True)
    text = models.TextField()
    raw = models.TextField(blank=True, help_text="As received (HTML, feed entry).")
    published_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=12, blank=True)
    publisher = models.CharField(max_length=200, blank=True)
    feed = models.ForeignKey(Feed, null=True, blank=True, on_delete=models.SET_NULL)
    run = models.ForeignKey(ImportRun, null=True, blank=True, on_delete=models.SET_NULL)
    state = models.CharField(
        max_length=12, choices=State.choices, default=State.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker took it; a stale claim is taken again."
    )
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="Last re-queued by the sweep (empty: when received)."
    )
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["url"], condition=~Q(url=""), name="report_url_unique")
        ]

    def __str__(self) -> str:
        return self.title or self.url or f"Report {self.pk}"


class Candidate(models.Model):
    """What extraction proposes from one sentence of a report, waiting for an editor."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending review"
        ACCEPTED = "accepted", "Accepted"
        MERGED = "merged", "Merged into an event"
        REJECTED = "rejected", "Rejected"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="candidates")
    sentence_index = models.PositiveIntegerField()
    part = models.PositiveSmallIntegerField(
        default=0, help_text="A sentence naming two places taken or struck gives parts 0, 1, ..."
    )
    sentence = models.TextField()
    sentence_start = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Where the sentence starts in its report's text (the spans' offsets are the "
        "sentence's own): the review page marks them in the whole report. Empty for candidates "
        "extracted before it was kept.",
    )  # fmt: skip
    places = models.JSONField(default=list, help_text="Matched places with spans and coordinates.")
    actors = models.JSONField(default=list, help_text="Matched factions with spans.")
    spans = models.JSONField(
        default=list, blank=True,
        help_text="Other matched spans: the event wording (type), the date, the fatalities "
        "(number).",
    )  # fmt: skip
    geom = models.PointField(srid=4326, null=True, blank=True)
    place = models.ForeignKey("events.Place", null=True, blank=True, on_delete=models.SET_NULL)
    location_precision = models.CharField(
        max_length=8, blank=True, help_text="ACLED's: exact, near (nearest named place), region."
    )
    suggested_place = models.CharField(
        max_length=200, blank=True, help_text="A named site the gazetteer lacks, to add."
    )
    date = models.DateField(null=True, blank=True)
    date_source = models.CharField(
        max_length=8,
        blank=True,
        help_text="Where the date comes from: text, context (the event before it), report "
        "(the report's own day); empty when unknown.",
    )
    event_type = models.CharField(max_length=40, blank=True)
    sub_event_type = models.CharField(max_length=60, blank=True)
    fatalities = models.PositiveIntegerField(null=True, blank=True)
    fatalities_qualifier = models.CharField(
        max_length=8, blank=True, help_text="exact, at least or about; empty when unknown."
    )
    confidence = models.FloatField(default=0.0)
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.PENDING, db_index=True
    )
    event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="candidates"
    )
    lead = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="grouped",
        help_text="The candidate of another report about the same event (same sub-type, within "
        "10 km and 2 days, an actor in common): editors review that one, with this one's report "
        "as one more source.",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "sentence_index", "part"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "sentence_index", "part"], name="candidate_one_per_sentence_part"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type or 'Candidate'}: {self.sentence[:80]}"
