"""Run inside a lerobot 0.4 environment: convert a v2.1 LeRobotDataset to v3.0 with lerobot's own converter.

usage: python lerobot_convert_v21.py PARENT NAME   (converts PARENT/NAME in place, keeps PARENT/NAME_old)
"""

import sys

from lerobot.datasets.v30.convert_dataset_v21_to_v30 import convert_dataset

parent, name = sys.argv[1:3]
convert_dataset(repo_id=name, root=parent, push_to_hub=False, force_conversion=True)
