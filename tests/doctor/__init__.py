"""Tests of ``realip._doctor``, one file per module where a module has tests."""
