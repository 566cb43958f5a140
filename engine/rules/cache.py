"""What a command may remember between runs about the rule files it loads, kept in the user's
own cache folder (``$XDG_CACHE_HOME/xiangyue``, else ``~/.cache/xiangyue``, made private):
Lark's analysed grammar (:mod:`xiangyue.rules.parser`) and which rule files' structure
was already found valid (:mod:`xiangyue.rules.schema`).

Never a shared temporary folder: a file there is trusted as the package is. None (nothing
cached) when the folder is not the user's own and private, or ``XIANGYUE_NO_CACHE`` is set.
"""

from __future__ import annotations

import os
import stat


def private_folder() -> str | None:
    """The cache folder, made if need be; None when it cannot be trusted or is turned off."""
    if os.environ.get("XIANGYUE_NO_CACHE") or not hasattr(os, "getuid"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "xiangyue")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.stat(folder)
        if st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return None
        if not os.access(folder, os.W_OK):
            return None
    except OSError:
        return None
    return folder
