"""Declarative experiments: config, content-addressed stage cache, pipeline, reports."""
