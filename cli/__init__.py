"""The ``xiangyue`` command line: thin click commands over the library (no logic here)."""
