"""The projections: each applies events to its own view tables (readmodel/schema.py).
A new report is a new module here with its tables in the schema."""
