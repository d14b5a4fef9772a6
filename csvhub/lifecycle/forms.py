"""The retention settings page's form: days blank mean forever."""

from __future__ import annotations

from typing import Any

from django import forms

from csvhub.lifecycle.policies import MAX_DAYS


class RetentionForm(forms.Form):
    keep_files_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_DAYS,
        label="Keep original files for (days)",
        help_text="Counted from the upload's success. Empty: keep them forever.",
    )
    keep_rows_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_DAYS,
        label="Keep rows for (days)",
        help_text="By the column below. Empty: keep every row forever.",
    )
    rows_column = forms.CharField(
        required=False,
        max_length=200,
        label="Rows' date or timestamp column",
        help_text="The column whose age decides a row's, in every dataset that has it.",
    )

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {name: data[name] for name in ("keep_files_days", "keep_rows_days", "rows_column")}
