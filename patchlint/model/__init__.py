"""The embedded s390 mm model: state, primitive semantics, an interpreter of the tree's IR.

Stage rule: imports only ingest/source/cparse/extract and the shared records.
"""
