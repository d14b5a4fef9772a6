"""Thena's customers: each customer id given out in advance maps to one dataset of its events."""

from __future__ import annotations

from django.db import models

from csvhub.accounts.models import Organization
from csvhub.datasets.models import Dataset


class Customer(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="customers"
    )
    # Normalized text (see compat.customers.customer_id_normalize): an integer's decimal digits
    # or a UUID's canonical lowercase form, so 1000, "1000" and "01000" are one customer.
    customer_id = models.CharField(max_length=36)
    # Deleting the dataset forgets the customer: its next upload starts a new dataset.
    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, related_name="customer")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer_id"], name="customer_id_per_org"
            )
        ]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.customer_id
