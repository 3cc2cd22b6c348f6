# blobs.py - where the file system blob store (common/blob, fs_store) keeps a blob:
# <blob folder>/<first 2 hex digits>/<next 2>/<all 64>. Importable from every
# tests/integration/<area>/ folder (pytest puts this folder on sys.path for its
# conftest.py).
#
#   blob_root(service)      - a started service's blob folder (its blob.path)
#   blob_path(root, hex_id) - the file of blob hex_id under the blob folder root
#
# SECURITY: none (test code). STANDARDS: none.

import tomllib
from pathlib import Path


def blob_root(service):
    return Path(tomllib.loads(Path(service.config).read_text())["blob"]["path"])


def blob_path(root, hex_id):
    return Path(root) / hex_id[:2] / hex_id[2:4] / hex_id
