"""CNMF-E: initialisation, ring background, HALS updates, merging.

Every function here works on arrays in memory; the pipeline feeds them the
movie chunk by chunk (see `caliali_tk.pipeline`).
"""
