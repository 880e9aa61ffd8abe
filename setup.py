"""Build the Cython routing kernel and RESP packer; ROUTERD_PURE_PYTHON=1 skips them and ships
the twins only."""

import os

from setuptools import Extension, setup

PURE = os.environ.get("ROUTERD_PURE_PYTHON", "") not in ("", "0")


def extensions() -> list[Extension]:
    """The compiled kernel and packer, or nothing in pure mode; a broken compiler fails loudly."""
    if PURE:
        return []
    # Imported only when compiling, so that pure mode needs no Cython.
    from Cython.Build import cythonize  # noqa: PLC0415

    # -ffp-contract=off: no fused multiply-add, so scores equal the twin's to the last bit.
    flags = ["-O3", "-ffp-contract=off"] if os.name != "nt" else ["/O2", "/fp:precise"]
    exts = [
        Extension("native._kernel", ["native/_kernel.pyx"], extra_compile_args=flags),
        Extension("native._resp", ["native/_resp.pyx"], extra_compile_args=flags),
    ]
    return cythonize(  # type: ignore[no-any-return]
        exts,
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


setup(ext_modules=extensions())
