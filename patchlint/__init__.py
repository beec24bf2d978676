"""patchlint: find locking hazards and races in Linux kernel patch series before they are sent."""

__version__ = "0.1.0"
