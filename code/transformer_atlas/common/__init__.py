"""Shared machinery of every part: input validation, thread control,
corpora and the character tokenizer, downloads, safe checkpoints and
timing helpers. Nothing here is a topic of the guide; every part uses it.
"""
