"""Thin command line over the stage APIs. Each ``xqg.cli.<module>`` registers its subcommands."""
