"""Per dataset: how its files are read, its cleaning recipe (versioned), and the clustering
suggestions people rejected. Per upload: what reading decided and detected."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from csvhub.datasets.models import Dataset, Upload


class ReadingRuleSet(models.Model):
    """A dataset's reading rules. A dataset without a row reads with the defaults of
    cleaning.selectors.reading_rules_of; datasets that existed before reading rules got a row
    keeping their old reading (no null tokens), by migration 0002 (docs/decisions.md)."""

    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, related_name="reading_rules")
    null_tokens = models.JSONField(default=list, blank=True)
    # Empty: detected in each file (docs/cleaning.md).
    decimal_separator = models.CharField(max_length=1, blank=True, default="")
    # "auto": a '.' with a decimal comma, none with a decimal point.
    thousands_separator = models.CharField(max_length=4, blank=True, default="auto")
    day_first = models.BooleanField(null=True, blank=True, default=None)
    # {"column name": "decimal"}: the column is of that type; values that do not fit are rejected.
    column_types = models.JSONField(default=dict, blank=True)
    # Appends: values that do not fit a column's type are rejected instead of widening it.
    strict = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"reading rules of {self.dataset_id}"


class Recipe(models.Model):
    """A dataset's cleaning recipe: its current version, and when it re-applies itself."""

    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, related_name="recipe")
    version = models.PositiveIntegerField(default=0)
    cron = models.CharField(max_length=100, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"recipe v{self.version} of {self.dataset_id}"


class RecipeVersion(models.Model):
    """One version of a recipe's steps; versions are never changed, only added."""

    recipe = models.ForeignKey(Recipe, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    steps = models.JSONField(default=list)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["recipe", "number"], name="recipe_version_number")
        ]

    def __str__(self) -> str:
        return f"v{self.number}"


class RejectedPair(models.Model):
    """Two values of a column someone said are not the same: never suggested together again.
    `first` < `second`, so a pair is stored once whichever way round it was rejected."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    column = models.CharField(max_length=63)
    first = models.TextField()
    second = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["dataset", "column"])]

    def __str__(self) -> str:
        return f"{self.first!r} ≠ {self.second!r}"


class UploadReading(models.Model):
    """How one upload was read: the rules decided for it and what was detected or assumed."""

    upload = models.OneToOneField(Upload, on_delete=models.CASCADE, related_name="reading")
    rules = models.JSONField(default=dict)
    notes = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"reading of {self.upload_id}"
