"""Stage 3 of hoidap: answer questions (CLI, Gradio web app, optional LLM) from a built index.

May import ingest/ and index/; never eval/.
"""
