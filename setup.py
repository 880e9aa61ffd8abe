"""Build the Cython routing kernel; ROUTERD_PURE_PYTHON=1 skips it and ships the twin only."""

import os

from setuptools import setup

PURE = os.environ.get("ROUTERD_PURE_PYTHON", "") not in ("", "0")


def extensions() -> list:  # type: ignore[type-arg]
    if PURE:
        return []
    # Imported here so that pure mode needs no Cython; a missing compiler fails the build loudly.
    from Cython.Build import cythonize
    from setuptools import Extension

    # -ffp-contract=off: no fused multiply-add, so scores equal the twin's to the last bit.
    flags = ["-O3", "-ffp-contract=off"] if os.name != "nt" else ["/O2", "/fp:precise"]
    ext = Extension("native._kernel", ["native/_kernel.pyx"], extra_compile_args=flags)
    return cythonize(
        [ext],
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


setup(ext_modules=extensions())
