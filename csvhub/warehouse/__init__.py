"""The warehouse: the only package that speaks SQL to the database holding the rows.

Everything here goes through SQLAlchemy Core: identifiers are checked against the table's
columns before use and every value is a bound parameter.
"""
