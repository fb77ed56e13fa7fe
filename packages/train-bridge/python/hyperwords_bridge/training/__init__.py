"""The fine-tune worker's parts, one concern per module; ``hyperwords_bridge.finetune`` is its entry point.

    job          the job's fields, parsed and checked
    data         hashes, encoding, block packing, the seeded batch order
    vocab        hyperwords as added tokens, rows initialised from their parts
    measure      bits per byte, round trips, hyperword emission
    runtime      signals, device and processes
    checkpoints  atomic checkpoints and resuming
    loop         the base, the PEFT model and the training loop
    save         adapter, merged model, checks and training.json
"""

import os

# nothing here reaches a model hub; set before transformers is first imported
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
