"""Tests of the local server behind `durable-async serve`: its viewer API and page."""
