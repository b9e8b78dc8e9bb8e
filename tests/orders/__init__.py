"""Tests of broker orders, fills and the order store."""
