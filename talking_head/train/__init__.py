"""AudioNet training: data sources (synthetic speech, talking videos), the
sharded dataset format, the paper's losses and the training loop.

Only the training tools import this package; generating videos never does.
"""
