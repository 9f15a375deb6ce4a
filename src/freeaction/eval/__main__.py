"""``python -m freeaction.eval COMMAND ...`` = ``freeaction COMMAND ...``; handy for
``accelerate launch --multi_gpu -m freeaction.eval evaluate CONFIG`` (GPUs) or
``torchrun --nproc_per_node N -m freeaction.eval evaluate CONFIG`` (CPU processes)."""

import sys

from freeaction.cli import main

if __name__ == "__main__":
    sys.exit(main())
