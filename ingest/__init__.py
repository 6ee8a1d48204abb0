"""Stage 1 of hoidap: read article files, clean web boilerplate, normalise Vietnamese, cut chunks.

Imports no other stage; index/ builds on what it returns.
"""
