"""Scenarios (litmus-style files) and their exploration over the model."""
