"""Stage 2 of hoidap: embed and tokenise chunks, persist a FAISS + BM25 index with its manifest, retrieve.

May import ingest/ (for the normaliser); never app/ or eval/.
"""
